/* hello.c: an invhost connector plugin in C, written with invhost_json.h.
 * Connector type `c-hello`: parameters `prefix` (text, required) and `count`
 * (1..100000, default 3); Sync Data emits `count` devices "<prefix>-<n>".
 *
 *   cc -std=c11 -Wall -Wextra -shared -fPIC -I connector-core/include \
 *      connector-core/examples/c/hello.c -o libc_hello.so
 *   invhost plugin check libc_hello.so --test --sync --param prefix=PC
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invhost_plugin.h"
#define INVHOST_JSON_IMPLEMENTATION
#include "invhost_json.h"

static const char DESCRIBE[] =
    "{\"name\":\"c-hello\",\"version\":\"1.0.0\",\"sdk_version\":\"invhost_json.h\","
    "\"abi_major\":1,\"abi_minor\":0,\"connectors\":[{\"type_id\":\"c-hello\","
    "\"display_name\":\"C Hello\",\"version\":\"1.0.0\",\"repository_type\":\"inventory\","
    "\"parameters\":[{\"key\":\"prefix\",\"label\":\"Prefix\",\"kind\":{\"type\":\"string\"},"
    "\"required\":true},{\"key\":\"count\",\"label\":\"Count\",\"kind\":{\"type\":\"integer\","
    "\"min\":1,\"max\":100000},\"default\":3}],\"actions\":[{\"id\":\"test\",\"name\":\"Test\"},"
    "{\"id\":\"sync_data\",\"name\":\"Sync Data\"}],\"record_kinds\":[\"device\"]}]}";

/* Hands a finished document to the host (the host frees it with hello_free). */
static invhost_status reply(invhost_out_buf *out, invhost_status status, ij_writer *w)
{
    if (ij_finish(w) != 0) return ij_reset(w), INVHOST_STATUS_FAILED;
    out->ptr = (uint8_t *)w->buf;
    out->len = w->len;
    return status;
}

static invhost_status error(invhost_out_buf *out, invhost_status status, const char *kind,
                            const char *field, const char *message)
{
    ij_writer w; /* {"kind": ..., "message": ..., "field": ... or null} */
    ij_init(&w);
    ij_object(&w), ij_field_str(&w, "kind", kind), ij_field_str(&w, "message", message);
    ij_field_str(&w, "field", field), ij_end(&w);
    return reply(out, status, &w);
}

typedef struct { char prefix[64]; long long count; } params;

/* Checks the request in the ABI's order (shape, connector type, action when
 * `run` is set, parameters) and reads the parameters. */
static invhost_status read_request(const uint8_t *request, size_t len, int run, params *p,
                                   invhost_out_buf *out)
{
    const char *json = (const char *)request;
    ij_span type, values, action;
    if (ij_get(json, len, "connector_type", &type) != IJ_OK ||
        ij_get(json, len, "parameters", &values) != IJ_OK)
        return error(out, INVHOST_STATUS_BAD_REQUEST, "bad_request", NULL, "malformed request");
    if (!ij_str_is(type, "c-hello"))
        return error(out, INVHOST_STATUS_UNKNOWN_CONNECTOR_TYPE, "unknown_connector_type", NULL,
                     "this plugin provides c-hello only");
    if (run && (ij_get(json, len, "action", &action) != IJ_OK || !ij_str_is(action, "sync_data")))
        return error(out, INVHOST_STATUS_UNKNOWN_ACTION, "unknown_action", NULL,
                     "unknown action (offered: sync_data)");
    if (ij_get_str(values.p, values.n, "prefix", p->prefix, sizeof p->prefix, NULL) != IJ_OK ||
        p->prefix[0] == '\0')
        return error(out, INVHOST_STATUS_INVALID_PARAMETERS, "invalid_parameters", "prefix",
                     "invalid parameters: prefix: text of at most 63 bytes is required");
    int got = ij_get_int(values.p, values.n, "count", &p->count);
    if (got == IJ_ABSENT) p->count = 3;
    else if (got != IJ_OK || p->count < 1 || p->count > 100000)
        return error(out, INVHOST_STATUS_INVALID_PARAMETERS, "invalid_parameters", "count",
                     "invalid parameters: count: a whole number from 1 to 100000");
    return INVHOST_STATUS_OK;
}

static invhost_status hello_init(const invhost_host_api *host)
{
    (void)host; /* host->log could carry log lines; this plugin has none */
    return INVHOST_STATUS_OK;
}

static invhost_status hello_describe(invhost_out_buf *out)
{
    if ((out->ptr = (uint8_t *)malloc(sizeof DESCRIBE)) == NULL) return INVHOST_STATUS_FAILED;
    memcpy(out->ptr, DESCRIBE, sizeof DESCRIBE);
    out->len = sizeof DESCRIBE - 1;
    return INVHOST_STATUS_OK;
}

static invhost_status hello_test(const uint8_t *request, size_t len, invhost_out_buf *out)
{
    params p;
    invhost_status status = read_request(request, len, 0, &p, out);
    if (status != INVHOST_STATUS_OK) return status;
    ij_writer w; /* {"checks": [{"name": ..., "status": "ok", "message": ...}]} */
    ij_init(&w);
    ij_object(&w), ij_key(&w, "checks"), ij_array(&w), ij_object(&w);
    ij_field_str(&w, "name", "Configuration"), ij_field_str(&w, "status", "ok");
    ij_field_str(&w, "message", "A sync will emit devices named after the prefix.");
    ij_end(&w), ij_end(&w), ij_end(&w);
    return reply(out, INVHOST_STATUS_OK, &w);
}

static invhost_status hello_run(const uint8_t *request, size_t len,
                                const invhost_run_callbacks *cb, invhost_out_buf *out)
{
    params p;
    if (cb == NULL || cb->size < sizeof *cb || cb->emit == NULL) /* a v1.0 host sets them all */
        return error(out, INVHOST_STATUS_BAD_REQUEST, "bad_request", NULL, "no run callbacks");
    invhost_status status = read_request(request, len, 1, &p, out);
    if (status != INVHOST_STATUS_OK) return status;
    for (long long n = 1; n <= p.count;) {
        if (cb->is_cancelled != NULL && cb->is_cancelled(cb->ctx))
            return error(out, INVHOST_STATUS_CANCELLED, "cancelled", NULL, "cancelled by the host");
        ij_writer w;
        char name[96];
        ij_init(&w);
        ij_object(&w), ij_key(&w, "records"), ij_array(&w);
        for (int in_batch = 0; in_batch < 500 && n <= p.count; in_batch++, n++) {
            snprintf(name, sizeof name, "%s-%lld", p.prefix, n);
            ij_object(&w), ij_field_str(&w, "kind", "device");
            ij_field_str(&w, "source_key", name), ij_field_str(&w, "name", name), ij_end(&w);
        }
        ij_end(&w);
        if (n > p.count) { /* the last batch: every device was read */
            ij_key(&w, "complete"), ij_array(&w), ij_str(&w, "device"), ij_end(&w);
        }
        ij_end(&w);
        int stop = ij_finish(&w) != 0 || cb->emit(cb->ctx, (const uint8_t *)w.buf, w.len) != 0;
        ij_reset(&w);
        if (stop) return error(out, INVHOST_STATUS_CANCELLED, "cancelled", NULL, "stopped by the host");
    }
    ij_writer w; /* the summary: {"records": {"device": N}, "message": ...} */
    ij_init(&w);
    ij_object(&w), ij_key(&w, "records"), ij_object(&w);
    ij_field_int(&w, "device", p.count), ij_end(&w);
    ij_field_str(&w, "message", "Emitted the hello devices."), ij_end(&w);
    return reply(out, INVHOST_STATUS_OK, &w);
}

static void hello_free(uint8_t *ptr, size_t len) { (void)len, free(ptr); }

static const invhost_plugin_descriptor DESCRIPTOR = {
    .magic = INVHOST_MAGIC, .abi_major = INVHOST_ABI_MAJOR, .abi_minor = INVHOST_ABI_MINOR,
    .size = sizeof(invhost_plugin_descriptor), .init = hello_init, .describe = hello_describe,
    .test = hello_test, .run = hello_run, .free = hello_free,
};

INVHOST_EXPORT const invhost_plugin_descriptor *invhost_connector_plugin_v1(void) { return &DESCRIPTOR; }
