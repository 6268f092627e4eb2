/* The audit log's rotation and retention, and the paused-channel markers
 * (manager/audit.c, manager/pause.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "manager/audit.h"
#include "manager/pause.h"
#include "util/log.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static char dir[256];

static int n_rotated(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "audit-2", 7) == 0) n++;
    closedir(d);
    return n;
}

static void make_file(const char *name, const char *text, long age_s)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= age_s;
    tv[1] = tv[0];
    assert_int_equal(utimes(p, tv), 0);
}

static bool exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static void test_rotation_and_retention(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/cotter-test-audit.XXXXXX");
    assert_non_null(mkdtemp(dir));
    make_file("audit-20000101T000000Z.log", "{}\n", 10 * 86400); /* past retention */
    make_file("audit-20010101T000000Z.log", "{}\n", 3600);       /* within it */
    make_file("audit.log", "{\"old\":1}\n", 30 * 86400);         /* current: kept */
    make_file("other.log", "x\n", 30 * 86400);                   /* not ours */
    audit_log *al = NULL;
    assert_int_equal(audit_open(dir, 100, 86400, &al), COT_OK);
    assert_false(exists("audit-20000101T000000Z.log"));
    assert_true(exists("audit-20010101T000000Z.log"));
    assert_true(exists("audit.log"));
    assert_true(exists("other.log"));

    char line[64];
    snprintf(line, sizeof(line), "{\"n\":\"%.40s\"}", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    audit_write(al, line, strlen(line)); /* 10 + 49 bytes: fits */
    assert_int_equal(n_rotated(), 1);
    audit_write(al, line, strlen(line)); /* would pass 100: rotates first */
    assert_int_equal(n_rotated(), 2);
    audit_event(al, "auto-recovery", "c1", "restart", "accepted: x");
    audit_close(al);

    char p[512];
    snprintf(p, sizeof(p), "%s/audit.log", dir);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    FILE *f = fopen(p, "r");
    char text[1024] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    /* the second line went to the new file, then rotated again for the event */
    assert_non_null(strstr(text, "\"who\":\"auto-recovery\""));
    assert_non_null(strstr(text, "\"action\":\"restart\""));
    assert_int_equal(n_rotated(), 3);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_pause(void **state)
{
    char d[64] = "/tmp/cotter-test-pause.XXXXXX";
    assert_non_null(mkdtemp(d));
    char by[80];
    time_t at = 0;
    assert_false(pause_get(d, "c1", by, sizeof(by), &at));
    assert_int_equal(pause_set(d, "c1", "ops from \"x\""), COT_OK);
    assert_true(pause_get(d, "c1", by, sizeof(by), &at));
    assert_string_equal(by, "ops from \"x\"");
    assert_true(at > 0 && at <= time(NULL));
    assert_false(pause_get(d, "c2", NULL, 0, NULL));
    assert_int_equal(pause_clear(d, "c1"), COT_OK);
    assert_false(pause_get(d, "c1", NULL, 0, NULL));
    assert_int_equal(pause_clear(d, "c1"), COT_OK); /* absent is fine */
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    log_set_stderr(false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rotation_and_retention),
        cmocka_unit_test(test_pause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
