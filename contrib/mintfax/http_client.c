/* SPDX-License-Identifier: Apache-2.0
 *
 * http_client.c: the client's only HTTP code, a thin wrapper over one reused
 * libcurl easy handle (so --wait polls over one keep-alive connection). It
 * builds the request (bearer key, JSON body or multipart upload, optional
 * Idempotency-Key), collects the body into a buffer capped at
 * MFX_MAX_RESPONSE, keeps the Request-Id and Retry-After headers, and parses
 * the body with json-c. Transport failures are reported here, naming the URL
 * that could not be reached; API errors are left to output.c.
 */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "mintfax.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"
#endif

#define JSON_MAX_DEPTH 64

static CURL *handle;

/* What the write and header callbacks fill while a transfer runs. */
struct transfer {
    struct mfx_response *resp;
    size_t cap;       /* bytes allocated for resp->body */
    int overflow;     /* the body went over MFX_MAX_RESPONSE */
};

/* Sets up libcurl once for the whole run. Returns 0, or -1 after printing
 * why. */
int mfx_http_init(void)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "error: could not initialise libcurl\n");
        return -1;
    }
    handle = curl_easy_init();
    if (!handle) {
        fprintf(stderr, "error: could not initialise libcurl\n");
        curl_global_cleanup();
        return -1;
    }
    return 0;
}

void mfx_http_cleanup(void)
{
    if (handle)
        curl_easy_cleanup(handle);
    handle = NULL;
    curl_global_cleanup();
}

/* libcurl write callback: appends to the response body, growing the buffer
 * geometrically but never past MFX_MAX_RESPONSE (+1 for the NUL). Returning
 * less than asked aborts the transfer with CURLE_WRITE_ERROR. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    struct mfx_response *r = t->resp;
    size_t n = size * nmemb;

    if (n > MFX_MAX_RESPONSE - r->len) {
        t->overflow = 1;
        return 0;
    }
    if (r->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > MFX_MAX_RESPONSE + 1)
            cap = MFX_MAX_RESPONSE + 1;
        char *p = realloc(r->body, cap);
        if (!p)
            return 0;
        r->body = p;
        t->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

/* Parses a Retry-After value: delta seconds, or an HTTP date turned into the
 * seconds from now. Returns -1 when it is neither. */
static long parse_retry_after(const char *v)
{
    if (isdigit((unsigned char)*v)) {
        char *end;
        errno = 0;
        long s = strtol(v, &end, 10);
        if (errno || (*end && !isspace((unsigned char)*end)))
            return -1;
        return s;
    }
    time_t when = curl_getdate(v, NULL);
    if (when < 0)
        return -1;
    time_t now = time(NULL);
    return when > now ? (long)(when - now) : 0;
}

/* libcurl header callback: keeps Request-Id (or X-Request-Id) and
 * Retry-After. A status line starts a new header block (after a 100
 * Continue, say), so it clears what an earlier block left. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    struct mfx_response *r = t->resp;
    size_t n = size * nmemb;
    char line[512];
    size_t len = n < sizeof(line) - 1 ? n : sizeof(line) - 1;

    memcpy(line, data, len);
    line[len] = '\0';
    while (len && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' '))
        line[--len] = '\0';

    if (strncmp(line, "HTTP/", 5) == 0) {
        r->request_id[0] = '\0';
        r->retry_after = -1;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return n;
    *colon = '\0';
    char *value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;

    if (strcasecmp(line, "Request-Id") == 0 ||
        (strcasecmp(line, "X-Request-Id") == 0 && r->request_id[0] == '\0')) {
        snprintf(r->request_id, sizeof(r->request_id), "%s", value);
    } else if (strcasecmp(line, "Retry-After") == 0) {
        r->retry_after = parse_retry_after(value);
    }
    return n;
}

/* Parses the body as JSON when it is JSON; leaves resp->json NULL otherwise.
 * Depth is bounded so a hostile body cannot exhaust the stack. */
static void parse_body(struct mfx_response *r)
{
    if (r->len == 0 || r->len > (size_t)INT32_MAX)
        return;
    struct json_tokener *tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (!tok)
        return;
    struct json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->len);
    if (o && json_tokener_get_error(tok) == json_tokener_success)
        r->json = o;
    else if (o)
        json_object_put(o);
    json_tokener_free(tok);
}

/* Builds the multipart form of an upload: the form fields, then the `file`
 * part read from disk. Returns the mime handle (freed by the caller with
 * curl_mime_free) or NULL after printing why. */
static curl_mime *build_form(const struct mfx_request *req)
{
    curl_mime *mime = curl_mime_init(handle);
    if (!mime)
        return NULL;
    for (size_t i = 0; i < req->n_fields; i++) {
        curl_mimepart *part = curl_mime_addpart(mime);
        if (!part || curl_mime_name(part, req->fields[i].name) != CURLE_OK ||
            curl_mime_data(part, req->fields[i].value, CURL_ZERO_TERMINATED) != CURLE_OK)
            goto fail;
    }
    curl_mimepart *file = curl_mime_addpart(mime);
    if (!file || curl_mime_name(file, "file") != CURLE_OK)
        goto fail;
    if (curl_mime_filedata(file, req->file_path) != CURLE_OK) {
        fprintf(stderr, "error: cannot read %s\n", req->file_path);
        curl_mime_free(mime);
        return NULL;
    }
    return mime;
fail:
    fprintf(stderr, "error: could not build the upload form\n");
    curl_mime_free(mime);
    return NULL;
}

/* Sends one request to cli->base_url + req->path and waits for the answer.
 * Returns 0 when an HTTP response arrived, whatever its status, with resp
 * filled (the caller releases it); returns -1 after printing the reason when
 * no response came (connection refused, timeout, oversized body...). */
int mfx_http_send(const struct mfx_cli *cli, const struct mfx_request *req,
                  struct mfx_response *resp)
{
    int rc = -1;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *url = NULL, *auth = NULL, *idem = NULL;
    struct curl_slist *headers = NULL;
    curl_mime *mime = NULL;
    struct transfer t = { .resp = resp };

    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
    if (!cli->api_key) {
        fprintf(stderr, "error: MINTFAX_API_KEY is not set\n"
                "  what to do: export MINTFAX_API_KEY=mfx_test_... (sandbox) or mfx_live_...\n");
        return -1;
    }

    size_t ulen = strlen(cli->base_url) + strlen(req->path) + 1;
    url = malloc(ulen);
    if (!url)
        goto oom;
    snprintf(url, ulen, "%s%s", cli->base_url, req->path);

    curl_easy_reset(handle);
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "mintfax-cli/" PACKAGE_VERSION);
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT, 10L);
    /* No overall timeout (uploads may be large); give up on a stalled link. */
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(handle, CURLOPT_LOW_SPEED_TIME, 60L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(handle, CURLOPT_HEADERDATA, &t);

    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (cli->api_key) {
        size_t alen = strlen(cli->api_key) + sizeof("Authorization: Bearer ");
        if (!(auth = malloc(alen)))
            goto oom;
        snprintf(auth, alen, "Authorization: Bearer %s", cli->api_key);
        headers = curl_slist_append(headers, auth);
    }
    if (req->idempotency_key) {
        size_t ilen = strlen(req->idempotency_key) + sizeof("Idempotency-Key: ");
        if (!(idem = malloc(ilen)))
            goto oom;
        snprintf(idem, ilen, "Idempotency-Key: %s", req->idempotency_key);
        headers = curl_slist_append(headers, idem);
    }

    if (req->file_path) {
        if (!(mime = build_form(req)))
            goto out;
        curl_easy_setopt(handle, CURLOPT_MIMEPOST, mime);
    } else if (req->json_body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, req->json_body);
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(req->json_body));
    } else if (strcmp(req->method, "POST") == 0) {
        /* An empty POST: no body, and no form Content-Type either. */
        headers = curl_slist_append(headers, "Content-Type:");
        curl_easy_setopt(handle, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    if (!headers)
        goto oom;
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, req->method);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);

    CURLcode cc = curl_easy_perform(handle);
    if (cc != CURLE_OK) {
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
        if (t.overflow)
            fprintf(stderr, "error: the response from %s is larger than %u MiB\n",
                    url, MFX_MAX_RESPONSE / (1024u * 1024u));
        else if (cc == CURLE_READ_ERROR && req->file_path)
            fprintf(stderr, "error: could not read %s while uploading it: %s\n",
                    req->file_path, why);
        else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                 cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_OPERATION_TIMEDOUT)
            fprintf(stderr, "error: could not reach %s: %s\n"
                    "  what to do: check MINTFAX_API_URL and that mintfaxd is running\n",
                    url, why);
        else
            fprintf(stderr, "error: request to %s failed: %s\n", url, why);
        free(resp->body);
        resp->body = NULL;
        resp->len = 0;
        goto out;
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &resp->status);
    if (!resp->body) {
        resp->body = calloc(1, 1);
        if (!resp->body)
            goto oom;
    }
    parse_body(resp);
    rc = 0;
    goto out;

oom:
    fprintf(stderr, "error: out of memory\n");
out:
    /* Drop pointers into our buffers before they are freed. */
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(handle, CURLOPT_MIMEPOST, NULL);
    curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(headers);
    curl_mime_free(mime);
    free(idem);
    free(auth);
    free(url);
    return rc;
}

/* Frees what mfx_http_send() put in resp; resp itself belongs to the caller. */
void mfx_response_release(struct mfx_response *resp)
{
    if (resp->json)
        json_object_put(resp->json);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
    resp->retry_after = -1;
}

/* Percent-encodes s for a URL path segment or query value (so '+' in a phone
 * number survives). Returns a malloc'd string the caller frees, or NULL when
 * out of memory. */
char *mfx_http_escape(const char *s)
{
    char *e = curl_easy_escape(handle, s, 0);
    if (!e)
        return NULL;
    char *copy = strdup(e);
    curl_free(e);
    return copy;
}

/* Appends s to b, refusing to grow past b->max. Returns 0, or -1 when the
 * result would be too long or memory ran out (b is then unchanged). */
int mfx_buf_append(struct mfx_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > b->max || b->len > b->max - n)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n + 1);
    b->len += n;
    return 0;
}

/* Adds name=value to a query string under construction in q, starting it
 * with '?' or continuing with '&'. name is used as given (callers pass
 * literal names); value is percent-encoded. Returns 0 or -1 as
 * mfx_buf_append(). */
int mfx_query_add(struct mfx_buf *q, const char *name, const char *value)
{
    char *ev = mfx_http_escape(value);
    if (!ev)
        return -1;
    int rc = mfx_buf_append(q, q->len ? "&" : "?");
    if (rc == 0)
        rc = mfx_buf_append(q, name);
    if (rc == 0)
        rc = mfx_buf_append(q, "=");
    if (rc == 0)
        rc = mfx_buf_append(q, ev);
    free(ev);
    return rc;
}
