/*
 * The command-line client of the manager's HTTP API (docs/api.md):
 * `cotter status` and `cotter channel start|stop|restart`. Runs in the
 * short-lived CLI process on its main thread; talks HTTP(S) with libcurl and
 * shares no state with a running `cotter run` beyond what the API returns.
 * The API token comes from COTTER_TOKEN or --token-file and is never printed.
 */
#ifndef COT_MANAGER_CLIENT_H
#define COT_MANAGER_CLIENT_H

/* Exit codes of the client commands. */
#define CLIENT_EXIT_OK        0 /* the API did what was asked */
#define CLIENT_EXIT_API_ERROR 1 /* the API answered with an error (message printed) */
#define CLIENT_EXIT_USAGE     2 /* bad usage, or the API could not be reached */

/* cmd_status runs `cotter status [NAME] [options]`; argv excludes the
 * command word. Returns one of the CLIENT_EXIT_* codes. */
int cmd_status(int argc, char **argv);
/* cmd_channel runs `cotter channel start|stop|restart NAME [options]`; argv
 * starts at the action. Returns one of the CLIENT_EXIT_* codes. */
int cmd_channel(int argc, char **argv);
/* cmd_logs runs `cotter logs [--lines N] [--level L] [--channel C] [--follow]
 * [--json] [options]`: the recent log lines of a running cotter (GET
 * /api/logs). Returns one of the CLIENT_EXIT_* codes. */
int cmd_logs(int argc, char **argv);
/* cmd_snapshot runs `cotter snapshot -c FILE --pipeline P --table S.T [--where
 * EXPR]`: asks the running cotter to copy a table again (POST
 * /api/pipeline/{P}/snapshot) and shows its progress until it is done.
 * Returns one of the CLIENT_EXIT_* codes. */
int cmd_snapshot(int argc, char **argv);

#endif
