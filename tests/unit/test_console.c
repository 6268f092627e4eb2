/*
 * Unit tests of the console's embedded files (issue 5): the generated asset
 * table holds every file of src/manager/assets byte for byte, with its
 * Content-Type and a distinct ETag; "/" maps to index.html; only browsers
 * get the console at "/" (API clients keep the JSON index).
 */
#include "manager/console.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_find(void **state)
{
    (void)state;
    const console_asset *idx = console_asset_find("/");
    assert_non_null(idx);
    assert_string_equal(idx->path, "/index.html");
    assert_ptr_equal(idx, console_asset_find("/index.html"));
    assert_string_equal(idx->content_type, "text/html; charset=utf-8");
    const console_asset *js = console_asset_find("/app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    assert_string_equal(console_asset_find("/app.css")->content_type, "text/css; charset=utf-8");
    assert_string_equal(console_asset_find("/favicon.svg")->content_type, "image/svg+xml");
    assert_null(console_asset_find("/app.js/"));
    assert_null(console_asset_find("/../app.js"));
    assert_null(console_asset_find("/api/channels"));
    assert_null(console_asset_find(""));
    assert_null(console_asset_find(NULL));
}

static void test_wants(void **state)
{
    (void)state;
    assert_true(console_wants("/", "text/html,application/xhtml+xml,*/*;q=0.8"));
    assert_false(console_wants("/", "*/*"));
    assert_false(console_wants("/", "application/json"));
    assert_false(console_wants("/", NULL));
    assert_true(console_wants("/app.js", NULL));
    assert_true(console_wants("/app.css", "*/*"));
    assert_false(console_wants("/api/channels", "text/html"));
    assert_false(console_wants("/healthz", "text/html"));
    assert_false(console_wants(NULL, "text/html"));
}

/* Every embedded file equals its source (so a stale build shows), and
 * ETags are quoted, 20 hex digits, different for different files. */
static void test_bytes_and_etags(void **state)
{
    (void)state;
    /* ctest sets COTTER_FIXTURES=SOURCE/tests/fixtures; by hand, run from the source root */
    const char *fx = getenv("COTTER_FIXTURES");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s%s", fx ? fx : "",
             fx ? "/../../src/manager/assets" : "src/manager/assets");
    assert_true(console_n_assets >= 4);
    for (int i = 0; i < console_n_assets; i++) {
        const console_asset *as = &console_assets[i];
        char path[1200];
        snprintf(path, sizeof(path), "%s%s", dir, as->path);
        FILE *f = fopen(path, "rb");
        if (!f) fail_msg("cannot open %s", path);
        unsigned char *want = malloc(as->len + 1);
        assert_non_null(want);
        size_t n = fread(want, 1, as->len + 1, f);
        fclose(f);
        assert_int_equal(n, as->len);
        assert_memory_equal(want, as->data, as->len);
        free(want);
        assert_int_equal(strlen(as->etag), 22);
        assert_int_equal(as->etag[0], '"');
        assert_int_equal(as->etag[21], '"');
        assert_int_equal(strspn(as->etag + 1, "0123456789abcdef"), 20);
        for (int k = 0; k < i; k++) assert_string_not_equal(as->etag, console_assets[k].etag);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_wants),
        cmocka_unit_test(test_bytes_and_etags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
