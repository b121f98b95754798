/*
 * _hubblescan: a strict, allocation-light reader of Hubble jsonpb lines (``hubble observe -o
 * json``, the flow exporter's file) for trustmap's ingest fast path.
 *
 * It reads a block of whole lines and returns, per flow line, the few values ingest keeps, as
 * Arrow-layout column buffers (see trustmap/observe/formats/hubble_native.py, which wraps them
 * and documents the columns). Each peer description (the ``source``/``destination`` object with
 * its ``*_names`` and ``*_service``) is not decoded here: its raw JSON text is interned, the row
 * holds a small id, and Python decodes each distinct description once.
 *
 * It is optimistic, like the DuckDB path it sits in front of: it vouches only for lines it
 * understands completely (valid JSON, ASCII, expected types at every field it reads, strict
 * RFC 3339 "Z" times). On anything else ``scan`` returns the line number it refused and the
 * caller hands the whole file to the general readers, which report bad lines with numbers.
 *
 * The semantics mirror trustmap.observe.formats.hubble (Python) and hubble_sql (DuckDB);
 * tests compare all three on every sample.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MAX_DEPTH 64
#define NULL_INT INT64_MIN

/* ---------------------------------------------------------------- growable buffers */

typedef struct {
    char *p;
    size_t n, cap;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->n + extra <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + extra) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int buf_put(Buf *b, const void *src, size_t len) {
    if (buf_reserve(b, len)) return -1;
    if (len) memcpy(b->p + b->n, src, len);
    b->n += len;
    return 0;
}

static void buf_free(Buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---------------------------------------------------------------- known spans
 *
 * A capture names the same few thousand peers millions of times, each as a ~500-byte object.
 * Each distinct object (or list) is validated once and kept; later it is recognised by
 * comparing bytes: a value whose bytes equal a complete valid value *is* that value. Values of
 * at least PREFIX bytes are found by a hash of their first PREFIX bytes before parsing; shorter
 * ones are parsed (cheap) and found by a hash of all their bytes. */

#define PREFIX 48
#define MAX_SPANS (1 << 20)

static inline uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const char *p, size_t n, uint64_t h) {
    const uint64_t m = 0x9E3779B97F4A7C15ULL;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * m;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    return mix((h ^ w ^ (uint64_t)n) * m);
}

typedef struct {
    uint64_t hash;
    int32_t id; /* -1: empty slot */
} SpanSlot;

typedef struct {
    SpanSlot *slots;
    size_t cap, used;
    Buf bytes;  /* every span's text */
    Buf starts; /* per id: uint32 offset into bytes, then one past the end */
    int32_t count;
} Spans;

static inline uint32_t span_at(const Spans *t, int32_t id) { return ((uint32_t *)t->starts.p)[id]; }
static inline uint32_t span_len(const Spans *t, int32_t id) {
    return span_at(t, id + 1) - span_at(t, id);
}

static int spans_grow(Spans *t) {
    size_t cap = t->cap ? t->cap * 2 : 4096;
    SpanSlot *slots = malloc(cap * sizeof(SpanSlot));
    if (!slots) return -1;
    for (size_t i = 0; i < cap; i++) slots[i].id = -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].id < 0) continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].id >= 0) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* A known span whose hash is ``h`` and whose bytes start ``p`` (``exact``: and are exactly
 * ``n`` bytes long), else -1. */
static int32_t spans_find(const Spans *t, uint64_t h, const char *p, size_t avail, int exact) {
    if (!t->cap) return -1;
    for (size_t j = h & (t->cap - 1); t->slots[j].id >= 0; j = (j + 1) & (t->cap - 1)) {
        if (t->slots[j].hash != h) continue;
        int32_t id = t->slots[j].id;
        size_t n = span_len(t, id);
        if ((exact ? n == avail : n <= avail) && memcmp(t->bytes.p + span_at(t, id), p, n) == 0)
            return id;
    }
    return -1;
}

/* Keep the valid value [p, p + n) with hash ``h``; its id, or -1 (memory, too many). */
static int32_t spans_add(Spans *t, uint64_t h, const char *p, size_t n) {
    if (t->count + 1 >= MAX_SPANS || t->bytes.n + n > UINT32_MAX) return -1;
    if ((t->used + 1) * 2 > t->cap && spans_grow(t)) return -1;
    if (t->count == 0) {
        uint32_t zero = 0;
        if (buf_put(&t->starts, &zero, sizeof zero)) return -1;
    }
    if (buf_put(&t->bytes, p, n)) return -1;
    uint32_t end = (uint32_t)t->bytes.n;
    if (buf_put(&t->starts, &end, sizeof end)) return -1;
    size_t j = h & (t->cap - 1);
    while (t->slots[j].id >= 0) j = (j + 1) & (t->cap - 1);
    t->slots[j].hash = h;
    t->slots[j].id = t->count++;
    t->used++;
    return t->slots[j].id;
}

/* ---------------------------------------------------------------- one line's values */

typedef struct {
    const char *p;
    size_t n;
    int set; /* present and not null */
} Str;

enum { P_TCP, P_UDP, P_SCTP, P_ICMP4, P_ICMP6, P_VRRP, P_IGMP, N_PROTO };
enum { L7_NONE, L7_HTTP, L7_DNS, L7_KAFKA };

typedef struct {
    /* envelope */
    int has_flow, has_lost, has_other;
    int64_t lost;
    Str env_node, env_time;
    /* flow */
    Str time, verdict, drop_desc, node, src_ip, dst_ip, l7_type;
    int64_t drop_reason;
    int proto_set[N_PROTO];
    int64_t sport[3], dport[3]; /* TCP, UDP, SCTP; NULL_INT when absent */
    int syn[3], ack[3];         /* per ported protocol: -1 absent, 0, 1 */
    int is_reply, reply;
    int http, dns, kafka;
    Str http_method, http_url, dns_query, kafka_key, kafka_topic;
    int64_t http_code, dns_rcode, kafka_error;
    Str qtypes; /* joined by ',' (in the block's arena) */
    int64_t agg[3];
    int32_t ep[2], names[2], svc[2]; /* span ids; -1: absent */
} Line;

/* ---------------------------------------------------------------- the parser */

typedef struct {
    const char *p, *end;
    char *scratch; /* the block's arena: decoded strings, as long as the block */
    size_t used;
    int depth;
    Spans *spans;
    int dup; /* a known field twice in one object */
} P;

static inline void ws(P *s) {
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\r' || *s->p == '\n'))
        s->p++;
}

static inline int eat(P *s, char c) {
    ws(s);
    if (s->p < s->end && *s->p == c) {
        s->p++;
        return 1;
    }
    return 0;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A string at s->p (after whitespace). With ``out``, its decoded value (pointing into the line
 * when it has no escape, else into scratch). ASCII only: anything else is refused. */
static unsigned char special[256]; /* '"', '\\', control and non-ASCII bytes */

static int string(P *s, Str *out) {
    ws(s);
    if (s->p >= s->end || *s->p != '"') return -1;
    const char *start = s->p + 1, *q = start, *end = s->end;
    int escaped = 0;
    for (;;) {
#ifdef __SSE2__
        const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
        const __m128i space = _mm_set1_epi8(0x20);
        while (end - q >= 16) { /* signed compare: bytes >= 0x80 count as below 0x20 */
            __m128i v = _mm_loadu_si128((const __m128i *)q);
            __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, slash)),
                                       _mm_cmplt_epi8(v, space));
            int mask = _mm_movemask_epi8(hit);
            if (mask) {
                q += __builtin_ctz((unsigned)mask);
                break;
            }
            q += 16;
        }
#endif
        while (q < end && !special[(unsigned char)*q]) q++;
        if (q >= end) return -1;
        unsigned char c = (unsigned char)*q;
        if (c == '"') break;
        if (c != '\\') return -1;
        escaped = 1;
        q++;
        if (q >= end) return -1;
        c = (unsigned char)*q;
        if (c == 'u') {
            if (end - q < 5) return -1;
            int v = 0;
            for (int i = 1; i <= 4; i++) {
                if (hexval(q[i]) < 0) return -1;
                v = v * 16 + hexval(q[i]);
            }
            if (v >= 0xD800 && v <= 0xDFFF) return -1; /* surrogates: the general readers */
            q += 4;
        } else if (c == 0 || !strchr("\"\\/bfnrt", c)) {
            return -1;
        }
        q++;
    }
    s->p = q;
    const char *stop = s->p++;
    if (!out) return 0;
    out->set = 1;
    if (!escaped) {
        out->p = start;
        out->n = (size_t)(stop - start);
        return 0;
    }
    char *dst = s->scratch + s->used;
    size_t n = 0;
    for (const char *q = start; q < stop; q++) {
        if (*q != '\\') {
            dst[n++] = *q;
            continue;
        }
        q++;
        switch (*q) {
        case 'b': dst[n++] = '\b'; break;
        case 'f': dst[n++] = '\f'; break;
        case 'n': dst[n++] = '\n'; break;
        case 'r': dst[n++] = '\r'; break;
        case 't': dst[n++] = '\t'; break;
        case 'u': {
            int v = (hexval(q[1]) << 12) | (hexval(q[2]) << 8) | (hexval(q[3]) << 4) | hexval(q[4]);
            if (v == 0 || v >= 0x80) return -1; /* non-ASCII (and NUL): the general readers */
            dst[n++] = (char)v;
            q += 4;
            break;
        }
        default: dst[n++] = *q;
        }
    }
    out->p = dst;
    out->n = n;
    s->used += n;
    return 0;
}

static int number(P *s, int64_t *out) {
    ws(s);
    const char *q = s->p;
    int neg = 0, integral = 1;
    if (q < s->end && *q == '-') {
        neg = 1;
        q++;
    }
    if (q >= s->end || *q < '0' || *q > '9') return -1;
    const char *digits = q;
    if (*q == '0') {
        q++;
    } else {
        while (q < s->end && *q >= '0' && *q <= '9') q++;
    }
    const char *digits_end = q;
    if (q < s->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= s->end || *q < '0' || *q > '9') return -1;
        while (q < s->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < s->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < s->end && (*q == '+' || *q == '-')) q++;
        if (q >= s->end || *q < '0' || *q > '9') return -1;
        while (q < s->end && *q >= '0' && *q <= '9') q++;
    }
    s->p = q;
    if (digits_end - digits > 20 || (!integral && out)) return -1; /* the general readers */
    if (!out) return q[-1] >= '0' && q[-1] <= '9' && !memchr(digits, 'e', (size_t)(q - digits)) &&
                     !memchr(digits, 'E', (size_t)(q - digits)) ? 0 : -1;
    if (digits_end - digits > 18) return -1;
    int64_t v = 0;
    for (const char *d = digits; d < digits_end; d++) v = v * 10 + (*d - '0');
    *out = neg ? -v : v;
    return 0;
}

static int literal(P *s, const char *word, size_t n) {
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0) return -1;
    s->p += n;
    return 0;
}

static int value(P *s);

/* An object (``keyed``: members are ``"key": value``) or array, validated and skipped. */
static int skip_container(P *s, char close, int keyed) {
    if (++s->depth > MAX_DEPTH) return -1;
    s->p++;
    if (!eat(s, close)) {
        do {
            if (keyed && (string(s, NULL) || !eat(s, ':'))) return -1;
            if (value(s)) return -1;
        } while (eat(s, ','));
        if (!eat(s, close)) return -1;
    }
    s->depth--;
    return 0;
}

/* Any JSON value, validated and skipped. */
static int value(P *s) {
    ws(s);
    if (s->p >= s->end) return -1;
    switch (*s->p) {
    case '{': return skip_container(s, '}', 1);
    case '[': return skip_container(s, ']', 0);
    case '"': return string(s, NULL);
    case 't': return literal(s, "true", 4);
    case 'f': return literal(s, "false", 5);
    case 'n': return literal(s, "null", 4);
    default: return number(s, NULL);
    }
}

/* Whether the next value is null (consumed then). */
static int null_next(P *s) {
    ws(s);
    if (s->p < s->end && *s->p == 'n') return literal(s, "null", 4) == 0 ? 1 : -1;
    return 0;
}

static int get_str(P *s, Str *out) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    return string(s, out);
}

static int get_int(P *s, int64_t *out) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    return number(s, out);
}

static int get_bool(P *s, int *out) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    if (literal(s, "true", 4) == 0) {
        *out = 1;
        return 0;
    }
    if (literal(s, "false", 5) == 0) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* Any value; ``*present`` is set when it is not null. */
static int get_present(P *s, int *present) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    *present = 1;
    return value(s);
}

/* Any value, as the id of its text among the known spans (-1 when null). */
static int get_span(P *s, int32_t *out) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    ws(s);
    const char *start = s->p;
    size_t avail = (size_t)(s->end - start);
    uint64_t h = 0;
    if (avail >= PREFIX && (*start == '{' || *start == '[')) {
        h = hash_bytes(start, PREFIX, 1);
        int32_t id = spans_find(s->spans, h, start, avail, 0);
        if (id >= 0) {
            s->p += span_len(s->spans, id);
            *out = id;
            return 0;
        }
    }
    if (value(s)) return -1;
    size_t len = (size_t)(s->p - start);
    int prefixed = len >= PREFIX && (*start == '{' || *start == '[');
    if (!prefixed) {
        h = hash_bytes(start, len, 2);
        int32_t id = spans_find(s->spans, h, start, len, 1);
        if (id >= 0) {
            *out = id;
            return 0;
        }
    }
    *out = spans_add(s->spans, h, start, len);
    return *out < 0 ? -2 : 0;
}

/* Objects: ``FIELDS(s) { if (KEY("name")) ...; else SKIP; }``. A null object reads as absent;
 * ``*present`` (optional) tells whether an object was there. Keys with escapes are refused. */
typedef struct {
    const char *p;
    size_t n;
} Key;

static int object_open(P *s, int *present) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    ws(s);
    if (s->p >= s->end || *s->p != '{') return -1;
    if (++s->depth > MAX_DEPTH) return -1;
    s->p++;
    if (present) *present = 1;
    return 1;
}

static int next_key(P *s, Key *key, int *first) {
    if (*first) {
        *first = 0;
        if (eat(s, '}')) return 0;
    } else {
        if (eat(s, '}')) return 0;
        if (!eat(s, ',')) return -1;
    }
    Str k = {0};
    ws(s);
    const char *before = s->p;
    if (string(s, &k)) return -1;
    if (memchr(before, '\\', (size_t)(s->p - before))) return -1;
    if (!eat(s, ':')) return -1;
    key->p = k.p;
    key->n = k.n;
    return 1;
}

#define KEY_EQ(k, lit) ((k).n == sizeof(lit) - 1 && memcmp((k).p, lit, sizeof(lit) - 1) == 0)

/* Marks the field on this source line as seen in the current object; a field seen twice (JSON
 * allows it; the Python parser keeps the last) makes the line one for the general readers. */
static inline int once_(uint64_t *seen, int line, P *s) {
    uint64_t bit = 1ULL << (line & 63);
    if (*seen & bit) s->dup = 1;
    *seen |= bit;
    return 1;
}

#define KEY_IS(k, lit) (KEY_EQ(k, lit) && once_(&seen_, __LINE__, s))

#define OBJECT(s, present, body)                                                             \
    do {                                                                                     \
        int open_ = object_open((s), (present));                                             \
        if (open_ < 0) return -1;                                                            \
        if (open_ == 0) break;                                                               \
        Key k;                                                                               \
        uint64_t seen_ = 0;                                                                  \
        int first_ = 1, more_;                                                               \
        while ((more_ = next_key((s), &k, &first_)) == 1) {                                  \
            body else if (value(s)) return -1;                                               \
        }                                                                                    \
        if (more_ < 0) return -1;                                                            \
        (s)->depth--;                                                                        \
    } while (0)

static int flags(P *s, Line *l, int proto) {
    OBJECT(s, NULL,
        if (KEY_IS(k, "SYN")) { if (get_bool(s, &l->syn[proto])) return -1; }
        else if (KEY_IS(k, "ACK")) { if (get_bool(s, &l->ack[proto])) return -1; }
    );
    return 0;
}

static int ported(P *s, Line *l, int proto) {
    OBJECT(s, &l->proto_set[proto],
        if (KEY_IS(k, "source_port")) { if (get_int(s, &l->sport[proto])) return -1; }
        else if (KEY_IS(k, "destination_port")) { if (get_int(s, &l->dport[proto])) return -1; }
        else if (KEY_IS(k, "flags")) { if (flags(s, l, proto)) return -1; }
    );
    return 0;
}

static int l4(P *s, Line *l) {
    OBJECT(s, NULL,
        if (KEY_IS(k, "TCP")) { if (ported(s, l, P_TCP)) return -1; }
        else if (KEY_IS(k, "UDP")) { if (ported(s, l, P_UDP)) return -1; }
        else if (KEY_IS(k, "SCTP")) { if (ported(s, l, P_SCTP)) return -1; }
        else if (KEY_IS(k, "ICMPv4")) { if (get_present(s, &l->proto_set[P_ICMP4])) return -1; }
        else if (KEY_IS(k, "ICMPv6")) { if (get_present(s, &l->proto_set[P_ICMP6])) return -1; }
        else if (KEY_IS(k, "VRRP")) { if (get_present(s, &l->proto_set[P_VRRP])) return -1; }
        else if (KEY_IS(k, "IGMP")) { if (get_present(s, &l->proto_set[P_IGMP])) return -1; }
    );
    return 0;
}

static int ip(P *s, Line *l) {
    OBJECT(s, NULL,
        if (KEY_IS(k, "source")) { if (get_str(s, &l->src_ip)) return -1; }
        else if (KEY_IS(k, "destination")) { if (get_str(s, &l->dst_ip)) return -1; }
    );
    return 0;
}

static int qtypes(P *s, Line *l) {
    int n = null_next(s);
    if (n) return n < 0 ? -1 : 0;
    if (!eat(s, '[')) return -1;
    size_t start = s->used, len = 0;
    l->qtypes.set = 1;
    l->qtypes.p = s->scratch + start;
    if (!eat(s, ']')) {
        int first = 1;
        do {
            Str q = {0};
            if (string(s, &q)) return -1; /* a null element: the general readers */
            char *dst = s->scratch + start; /* never past q: the raw text is longer */
            size_t at = len + (first ? 0 : 1);
            memmove(dst + at, q.p, q.n); /* q may be decoded at dst + len: move it first */
            if (!first) dst[len] = ',';
            len = at + q.n;
            s->used = start + len;
            first = 0;
        } while (eat(s, ','));
        if (!eat(s, ']')) return -1;
    }
    l->qtypes.n = len;
    return 0;
}

static int l7(P *s, Line *l) {
    OBJECT(s, NULL,
        if (KEY_IS(k, "type")) { if (get_str(s, &l->l7_type)) return -1; }
        else if (KEY_IS(k, "http")) {
            OBJECT(s, &l->http,
                if (KEY_IS(k, "code")) { if (get_int(s, &l->http_code)) return -1; }
                else if (KEY_IS(k, "method")) { if (get_str(s, &l->http_method)) return -1; }
                else if (KEY_IS(k, "url")) { if (get_str(s, &l->http_url)) return -1; }
            );
        } else if (KEY_IS(k, "dns")) {
            OBJECT(s, &l->dns,
                if (KEY_IS(k, "query")) { if (get_str(s, &l->dns_query)) return -1; }
                else if (KEY_IS(k, "rcode")) { if (get_int(s, &l->dns_rcode)) return -1; }
                else if (KEY_IS(k, "qtypes")) { if (qtypes(s, l)) return -1; }
            );
        } else if (KEY_IS(k, "kafka")) {
            OBJECT(s, &l->kafka,
                if (KEY_IS(k, "error_code")) { if (get_int(s, &l->kafka_error)) return -1; }
                else if (KEY_IS(k, "api_key")) { if (get_str(s, &l->kafka_key)) return -1; }
                else if (KEY_IS(k, "topic")) { if (get_str(s, &l->kafka_topic)) return -1; }
            );
        }
    );
    return 0;
}

static int aggregate(P *s, Line *l) {
    OBJECT(s, NULL,
        if (KEY_IS(k, "ingress_flow_count")) { if (get_int(s, &l->agg[0])) return -1; }
        else if (KEY_IS(k, "egress_flow_count")) { if (get_int(s, &l->agg[1])) return -1; }
        else if (KEY_IS(k, "unknown_direction_flow_count")) { if (get_int(s, &l->agg[2])) return -1; }
    );
    return 0;
}

static int flow(P *s, Line *l) {
    OBJECT(s, &l->has_flow,
        if (KEY_IS(k, "time")) { if (get_str(s, &l->time)) return -1; }
        else if (KEY_IS(k, "verdict")) { if (get_str(s, &l->verdict)) return -1; }
        else if (KEY_IS(k, "drop_reason_desc")) { if (get_str(s, &l->drop_desc)) return -1; }
        else if (KEY_IS(k, "drop_reason")) { if (get_int(s, &l->drop_reason)) return -1; }
        else if (KEY_IS(k, "IP")) { if (ip(s, l)) return -1; }
        else if (KEY_IS(k, "l4")) { if (l4(s, l)) return -1; }
        else if (KEY_IS(k, "source")) { if (get_span(s, &l->ep[0])) return -1; }
        else if (KEY_IS(k, "destination")) { if (get_span(s, &l->ep[1])) return -1; }
        else if (KEY_IS(k, "source_names")) { if (get_span(s, &l->names[0])) return -1; }
        else if (KEY_IS(k, "destination_names")) { if (get_span(s, &l->names[1])) return -1; }
        else if (KEY_IS(k, "source_service")) { if (get_span(s, &l->svc[0])) return -1; }
        else if (KEY_IS(k, "destination_service")) { if (get_span(s, &l->svc[1])) return -1; }
        else if (KEY_IS(k, "node_name")) { if (get_str(s, &l->node)) return -1; }
        else if (KEY_IS(k, "l7")) { if (l7(s, l)) return -1; }
        else if (KEY_IS(k, "is_reply")) { if (get_bool(s, &l->is_reply)) return -1; }
        else if (KEY_IS(k, "reply")) { if (get_bool(s, &l->reply)) return -1; }
        else if (KEY_IS(k, "aggregate")) { if (aggregate(s, l)) return -1; }
    );
    return 0;
}

static int lost(P *s, Line *l) {
    OBJECT(s, &l->has_lost,
        if (KEY_IS(k, "num_events_lost")) { if (get_int(s, &l->lost)) return -1; }
    );
    return 0;
}

static int envelope(P *s, Line *l) {
    ws(s);
    if (s->p >= s->end || *s->p != '{') return -1;
    OBJECT(s, NULL,
        if (KEY_IS(k, "flow")) { if (flow(s, l)) return -1; }
        else if (KEY_IS(k, "node_name")) { if (get_str(s, &l->env_node)) return -1; }
        else if (KEY_IS(k, "time")) { if (get_str(s, &l->env_time)) return -1; }
        else if (KEY_IS(k, "lost_events")) { if (lost(s, l)) return -1; }
        else if (KEY_IS(k, "node_status") || KEY_IS(k, "agent_event") || KEY_IS(k, "debug_event")) {
            if (get_present(s, &l->has_other)) return -1;
        }
    );
    ws(s);
    return s->p == s->end ? 0 : -1;
}

/* ---------------------------------------------------------------- strict RFC 3339 times */

static int digits(const char *p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* ``YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`` → microseconds since the epoch (fraction truncated, as
 * DuckDB's cast and Python's parser do); -1 for anything else, including impossible dates. */
static int epoch_us(const char *p, size_t n, int64_t *out) {
    int y, mo, d, h, mi, sec;
    if (n < 20 || p[4] != '-' || p[7] != '-' || p[10] != 'T' || p[13] != ':' || p[16] != ':')
        return -1;
    if (digits(p, 4, &y) || digits(p + 5, 2, &mo) || digits(p + 8, 2, &d) ||
        digits(p + 11, 2, &h) || digits(p + 14, 2, &mi) || digits(p + 17, 2, &sec))
        return -1;
    size_t i = 19;
    int64_t frac = 0;
    if (p[i] == '.') {
        size_t start = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            if (i - start < 6) frac = frac * 10 + (p[i] - '0');
            i++;
        }
        size_t count = i - start;
        if (count < 1 || count > 9) return -1;
        for (size_t j = count; j < 6; j++) frac *= 10;
    }
    if (i + 1 != n || p[i] != 'Z') return -1;
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59) return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > dim[mo - 1] + (mo == 2 && leap)) return -1;
    int64_t days = days_from_civil(y, mo, d);
    *out = ((days * 24 + h) * 60 + mi) * 60 * 1000000LL + sec * 1000000LL + frac;
    return 0;
}

/* ---------------------------------------------------------------- interned peers */

typedef struct {
    uint64_t key; /* the three span ids */
    int32_t id;   /* -1: empty slot */
} PeerSlot;

typedef struct {
    PeerSlot *slots;
    size_t cap, used;
    Buf ids; /* per peer: three int32 span ids */
    int32_t next_id, base, limit, reported;
} Peers;

static int peers_grow(Peers *t) {
    size_t cap = t->cap ? t->cap * 2 : 4096;
    PeerSlot *slots = malloc(cap * sizeof(PeerSlot));
    if (!slots) return -1;
    for (size_t i = 0; i < cap; i++) slots[i].id = -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].id < 0) continue;
        size_t j = mix(t->slots[i].key) & (cap - 1);
        while (slots[j].id >= 0) j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

/* The id of the peer described by spans (ep, names, svc), interned on first sight; -1 when
 * out of memory, -2 when the reader's ids are used up. Span ids stay below MAX_SPANS = 2**20,
 * so three fit in the 63-bit key. */
static int32_t intern(Peers *t, int32_t ep, int32_t names, int32_t svc) {
    uint64_t key = ((uint64_t)(uint32_t)(ep + 1) << 42) | ((uint64_t)(uint32_t)(names + 1) << 21) |
                   (uint64_t)(uint32_t)(svc + 1);
    size_t j;
    if ((t->used + 1) * 2 > t->cap && peers_grow(t)) return -1;
    j = mix(key) & (t->cap - 1);
    while (t->slots[j].id >= 0) {
        if (t->slots[j].key == key) return t->slots[j].id;
        j = (j + 1) & (t->cap - 1);
    }
    int32_t spans[3] = {ep, names, svc};
    if (t->next_id - t->base >= t->limit) return -2; /* more peers than ids: refuse the line */
    if (buf_put(&t->ids, spans, sizeof spans)) return -1;
    t->slots[j].key = key;
    t->slots[j].id = t->next_id++;
    t->used++;
    return t->slots[j].id;
}

/* ---------------------------------------------------------------- flows of a block
 *
 * Lines of one block with the same values (the flow key, both peers, the reporter's bucket of
 * time) are collapsed here already: a capture sees each connection at several points, so the
 * rows handed to DuckDB are several times fewer than the lines. Strings point into the block or
 * its arena, both alive until the block's columns are written. */

typedef struct {
    Str src_ip, dst_ip, verdict, drop_desc, method, path, reporter;
    int64_t first, last, drop_reason, status, count, records, bucket;
    int32_t sport, dport, src, dst;
    int8_t proto, direction, l7;
    uint64_t hash;
} Group;

typedef struct {
    int32_t *slots; /* group index + 1; 0: empty */
    size_t cap;
    Group *groups;
    size_t n, room;
} Groups;

static void groups_free(Groups *g) {
    free(g->slots);
    free(g->groups);
    memset(g, 0, sizeof *g);
}

static inline int same_str(const Str *a, const Str *b) {
    size_t an = a->set ? a->n : 0, bn = b->set ? b->n : 0;
    return an == bn && (an == 0 || memcmp(a->p, b->p, an) == 0);
}

static inline uint64_t hash_str(const Str *s, uint64_t h) {
    return s->set ? hash_bytes(s->p, s->n, h) : mix(h + 1);
}

static uint64_t group_hash(const Group *g) {
    uint64_t h = hash_str(&g->src_ip, 7);
    h = hash_str(&g->dst_ip, h);
    h = hash_str(&g->verdict, h);
    h = hash_str(&g->drop_desc, h);
    h = hash_str(&g->method, h);
    h = hash_str(&g->path, h);
    int64_t ints[6] = {g->drop_reason, g->status, g->bucket,
                       ((int64_t)g->sport << 32) ^ (uint32_t)g->dport,
                       ((int64_t)g->src << 32) ^ (uint32_t)g->dst,
                       (g->proto << 16) | (g->direction << 8) | g->l7};
    return hash_bytes((const char *)ints, sizeof ints, h);
}

static int same_group(const Group *a, const Group *b) {
    return a->hash == b->hash && a->bucket == b->bucket && a->sport == b->sport &&
           a->dport == b->dport && a->src == b->src && a->dst == b->dst && a->proto == b->proto &&
           a->direction == b->direction && a->l7 == b->l7 && a->drop_reason == b->drop_reason &&
           a->status == b->status && same_str(&a->src_ip, &b->src_ip) &&
           same_str(&a->dst_ip, &b->dst_ip) && same_str(&a->verdict, &b->verdict) &&
           same_str(&a->drop_desc, &b->drop_desc) && same_str(&a->method, &b->method) &&
           same_str(&a->path, &b->path);
}

static int groups_grow(Groups *g) {
    size_t cap = g->cap ? g->cap * 2 : 8192;
    int32_t *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < g->n; i++) {
        size_t j = g->groups[i].hash & (cap - 1);
        while (slots[j]) j = (j + 1) & (cap - 1);
        slots[j] = (int32_t)i + 1;
    }
    free(g->slots);
    g->slots = slots;
    g->cap = cap;
    return 0;
}

static int str_less(const Str *a, const Str *b) {
    size_t an = a->set ? a->n : 0, bn = b->set ? b->n : 0, n = an < bn ? an : bn;
    int c = n ? memcmp(a->p, b->p, n) : 0;
    return c < 0 || (c == 0 && an < bn);
}

/* Count the line ``row`` into its group. */
static int group_add(Groups *g, Group *row) {
    row->hash = group_hash(row);
    if ((g->n + 1) * 2 > g->cap && groups_grow(g)) return -1;
    size_t j = row->hash & (g->cap - 1);
    for (; g->slots[j]; j = (j + 1) & (g->cap - 1)) {
        Group *old = &g->groups[g->slots[j] - 1];
        if (!same_group(old, row)) continue;
        if (row->first < old->first) old->first = row->first;
        if (row->last > old->last) old->last = row->last;
        old->count += row->count;
        old->records += 1;
        if (str_less(&old->reporter, &row->reporter)) old->reporter = row->reporter;
        return 0;
    }
    if (g->n == g->room) {
        size_t room = g->room ? g->room * 2 : 4096;
        Group *groups = realloc(g->groups, room * sizeof *groups);
        if (!groups) return -1;
        g->groups = groups;
        g->room = room;
    }
    if (g->n >= INT32_MAX - 1) return -1;
    g->groups[g->n] = *row;
    g->slots[j] = (int32_t)++g->n;
    return 0;
}

/* ---------------------------------------------------------------- output columns */

enum { S_SRC_IP, S_DST_IP, S_VERDICT, S_DROP_DESC, S_REPORTER, S_L7_METHOD, S_L7_PATH, N_STR };
enum { W_TIME, W_LAST, W_DROP, W_STATUS, W_COUNT, W_RECORDS, N_I64 };
enum { V_SPORT, V_DPORT, V_SRC, V_DST, N_I32 };
enum { B_PROTO, B_DIRECTION, B_L7, N_I8 };

typedef struct {
    Buf offsets[N_STR], data[N_STR], i64[N_I64], i32[N_I32], i8[N_I8];
    int64_t rows, flows, skipped, lost_lines, lost_events, anonymous, blank;
} Out;

static void out_free(Out *o) {
    for (int i = 0; i < N_STR; i++) {
        buf_free(&o->offsets[i]);
        buf_free(&o->data[i]);
    }
    for (int i = 0; i < N_I64; i++) buf_free(&o->i64[i]);
    for (int i = 0; i < N_I32; i++) buf_free(&o->i32[i]);
    for (int i = 0; i < N_I8; i++) buf_free(&o->i8[i]);
}

static int put_str(Out *o, int col, const Str *v) {
    if (v->set && buf_put(&o->data[col], v->p, v->n)) return -1;
    if (o->data[col].n > INT32_MAX) return -1;
    int32_t end = (int32_t)o->data[col].n;
    return buf_put(&o->offsets[col], &end, sizeof end);
}

static int put_i64(Out *o, int col, int64_t v) { return buf_put(&o->i64[col], &v, sizeof v); }
static int put_i32(Out *o, int col, int32_t v) { return buf_put(&o->i32[col], &v, sizeof v); }
static int put_i8(Out *o, int col, int8_t v) { return buf_put(&o->i8[col], &v, sizeof v); }

static int put_group(Out *o, const Group *g) {
    if (put_str(o, S_SRC_IP, &g->src_ip) || put_str(o, S_DST_IP, &g->dst_ip) ||
        put_str(o, S_VERDICT, &g->verdict) || put_str(o, S_DROP_DESC, &g->drop_desc) ||
        put_str(o, S_REPORTER, &g->reporter) || put_str(o, S_L7_METHOD, &g->method) ||
        put_str(o, S_L7_PATH, &g->path) || put_i64(o, W_TIME, g->first) ||
        put_i64(o, W_LAST, g->last) || put_i64(o, W_DROP, g->drop_reason) ||
        put_i64(o, W_STATUS, g->status) || put_i64(o, W_COUNT, g->count) ||
        put_i64(o, W_RECORDS, g->records) || put_i32(o, V_SPORT, g->sport) ||
        put_i32(o, V_DPORT, g->dport) || put_i32(o, V_SRC, g->src) ||
        put_i32(o, V_DST, g->dst) || put_i8(o, B_PROTO, g->proto) ||
        put_i8(o, B_DIRECTION, g->direction) || put_i8(o, B_L7, g->l7))
        return -1;
    o->rows++;
    return 0;
}

static int str_eq(const Str *s, const char *lit) {
    size_t n = strlen(lit);
    return s->set && s->n == n && memcmp(s->p, lit, n) == 0;
}

/* ``proto``: the index of the ported protocol the flow is (TCP, UDP, SCTP), else -1. */
static int8_t direction(const Line *l, int proto) {
    if (str_eq(&l->l7_type, "RESPONSE")) return 2;
    if (str_eq(&l->l7_type, "REQUEST")) return 1;
    if (l->is_reply >= 0) return l->is_reply ? 2 : 1;
    if (l->reply == 1) return 2;
    if (proto >= 0 && l->syn[proto] == 1) return l->ack[proto] == 1 ? 2 : 1;
    return 0;
}

/* The path of an HTTP URL, as trustmap.observe.formats.hubble.split_url takes it: no scheme
 * and host, query or fragment; "/" when that leaves nothing; absent for an absent or empty URL. */
static Str url_path(const Str *url) {
    static const char root[] = "/";
    Str path = {0};
    if (!url->set || url->n == 0) return path;
    const char *p = url->p, *end = url->p + url->n;
    for (const char *q = p; q + 3 <= end; q++) {
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            if (q > p && !memchr(p, '/', (size_t)(q - p))) {
                const char *slash = memchr(q + 3, '/', (size_t)(end - q - 3));
                p = slash ? slash : end;
            }
            break;
        }
    }
    const char *stop = p;
    while (stop < end && *stop != '?' && *stop != '#') stop++;
    path.set = 1;
    if (stop == p) {
        path.p = root;
        path.n = 1;
    } else {
        path.p = p;
        path.n = (size_t)(stop - p);
    }
    return path;
}

static const Str *nonempty(const Str *a, const Str *b) {
    if (a->set && a->n) return a;
    return b;
}

/* One flow line into its group. Returns -1 to refuse the line, -2 when out of memory. */
static int emit(Out *o, Groups *groups, Peers *t, Line *l, int64_t window) {
    Group g;
    memset(&g, 0, sizeof g);
    const Str *stamp = nonempty(&l->time, &l->env_time);
    if (!stamp->set || epoch_us(stamp->p, stamp->n, &g.first) || g.first < 0) return -1;
    g.last = g.first;
    g.bucket = g.first / window;
    for (int side = 0; side < 2; side++) {
        int32_t id = intern(t, l->ep[side], l->names[side], l->svc[side]);
        if (id == -2) return -1;
        if (id < 0) return -2;
        if (side == 0) g.src = id; else g.dst = id;
    }
    for (int i = 0; i < N_PROTO && !g.proto; i++)
        if (l->proto_set[i]) g.proto = (int8_t)(i + 1);
    int ported = g.proto >= 1 && g.proto <= 3 ? g.proto - 1 : -1; /* as the Python parser */
    int64_t sport = ported < 0 || l->sport[ported] == NULL_INT ? 0 : l->sport[ported];
    int64_t dport = ported < 0 || l->dport[ported] == NULL_INT ? 0 : l->dport[ported];
    if (sport < 0 || sport > 65535 || dport < 0 || dport > 65535) return -1; /* as Python */
    g.sport = (int32_t)sport;
    g.dport = (int32_t)dport;
    g.l7 = l->http ? L7_HTTP : l->dns ? L7_DNS : l->kafka ? L7_KAFKA : L7_NONE;
    g.status = NULL_INT;
    if (g.l7 == L7_HTTP) {
        g.method = l->http_method;
        g.path = url_path(&l->http_url);
        g.status = l->http_code;
    } else if (g.l7 == L7_DNS) {
        g.method = l->qtypes;
        g.path = l->dns_query;
        g.status = l->dns_rcode;
    } else if (g.l7 == L7_KAFKA) {
        g.method = l->kafka_key;
        g.path = l->kafka_topic;
        g.status = l->kafka_error;
    }
    if (g.status != NULL_INT && (g.status < INT32_MIN || g.status > INT32_MAX)) return -1;
    int64_t total = 0;
    for (int i = 0; i < 3; i++)
        if (l->agg[i] != NULL_INT) total += l->agg[i];
    g.count = total != 0 ? total : 1; /* as the Python parser: ``total or 1`` */
    g.records = 1;
    g.reporter = *nonempty(&l->node, &l->env_node);
    g.src_ip = l->src_ip;
    g.dst_ip = l->dst_ip;
    g.verdict = l->verdict;
    g.drop_desc = l->drop_desc;
    g.drop_reason = l->drop_reason == NULL_INT ? 0 : l->drop_reason;
    g.direction = direction(l, ported);
    if ((l->src_ip.set ? l->src_ip.n : 0) == 0 || (l->dst_ip.set ? l->dst_ip.n : 0) == 0)
        o->anonymous++;
    if (group_add(groups, &g)) return -2;
    o->flows++;
    return 0;
}

static void line_reset(Line *l) {
    memset(l, 0, sizeof *l);
    l->drop_reason = l->http_code = l->dns_rcode = l->kafka_error = NULL_INT;
    for (int i = 0; i < 3; i++) l->sport[i] = l->dport[i] = l->agg[i] = NULL_INT;
    l->is_reply = l->reply = -1;
    for (int i = 0; i < 3; i++) l->syn[i] = l->ack[i] = -1;
    for (int i = 0; i < 2; i++) l->ep[i] = l->names[i] = l->svc[i] = -1;
}

static int blank(const char *p, const char *end) {
    for (; p < end; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
    return 1;
}

/* Every line of [p, end) into ``o``, collapsed. Returns 0, the 1-based number of the refused
 * line, or -1 (out of memory). */
static Py_ssize_t scan_lines(Out *o, Peers *t, Spans *spans, const char *p, const char *end,
                             int64_t window) {
    Buf arena = {0};
    Groups groups;
    memset(&groups, 0, sizeof groups);
    Line line;
    Py_ssize_t number = 0, result = 0;
    size_t used = 0;
    if (buf_reserve(&arena, (size_t)(end - p) + 1)) return -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        number++;
        if (blank(p, stop)) {
            o->blank++;
        } else {
            line_reset(&line);
            P s = {p, stop, arena.p, used, 0, spans, 0};
            if (envelope(&s, &line) || s.dup) {
                result = number;
                break;
            }
            used = s.used;
            if (line.has_flow) {
                int rc = emit(o, &groups, t, &line, window);
                if (rc) {
                    result = rc == -1 ? number : -1;
                    break;
                }
            } else if (line.has_lost) {
                o->lost_lines++;
                o->lost_events += line.lost;
            } else if (line.has_other) {
                o->skipped++;
            } else {
                result = number;
                break;
            }
        }
        p = nl ? nl + 1 : end;
    }
    for (size_t i = 0; result == 0 && i < groups.n; i++)
        if (put_group(o, &groups.groups[i])) result = -1;
    groups_free(&groups);
    buf_free(&arena);
    return result;
}

/* ---------------------------------------------------------------- the Python type */

typedef struct {
    PyObject_HEAD
    Peers peers;
    Spans spans;
    int busy;
} Scanner;

static PyObject *take(Buf *b) {
    PyObject *bytes = PyBytes_FromStringAndSize(b->p ? b->p : "", (Py_ssize_t)b->n);
    buf_free(b);
    return bytes;
}

static PyObject *columns(Out *o) {
    PyObject *strs = PyTuple_New(N_STR), *nums = PyTuple_New(N_I64 + N_I32 + N_I8);
    if (!strs || !nums) goto fail;
    for (int i = 0; i < N_STR; i++) {
        PyObject *pair = Py_BuildValue("(NN)", take(&o->offsets[i]), take(&o->data[i]));
        if (!pair) goto fail;
        PyTuple_SET_ITEM(strs, i, pair);
    }
    int j = 0;
    for (int i = 0; i < N_I64; i++) PyTuple_SET_ITEM(nums, j++, take(&o->i64[i]));
    for (int i = 0; i < N_I32; i++) PyTuple_SET_ITEM(nums, j++, take(&o->i32[i]));
    for (int i = 0; i < N_I8; i++) PyTuple_SET_ITEM(nums, j++, take(&o->i8[i]));
    for (int i = 0; i < N_I64 + N_I32 + N_I8; i++)
        if (!PyTuple_GET_ITEM(nums, i)) goto fail;
    return Py_BuildValue("(LLLLLLLNN)", (long long)o->rows, (long long)o->flows,
                         (long long)o->skipped, (long long)o->lost_lines,
                         (long long)o->lost_events, (long long)o->anonymous,
                         (long long)o->blank, strs, nums);
fail:
    Py_XDECREF(strs);
    Py_XDECREF(nums);
    return NULL;
}

static int put_offset_zero(Out *o) {
    int32_t zero = 0;
    for (int i = 0; i < N_STR; i++)
        if (buf_put(&o->offsets[i], &zero, sizeof zero)) return -1;
    return 0;
}

static PyObject *Scanner_scan(Scanner *self, PyObject *args) {
    Py_buffer view;
    long long window;
    if (!PyArg_ParseTuple(args, "y*L", &view, &window)) return NULL;
    if (window < 1) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "window must be a positive number of microseconds");
        return NULL;
    }
    if (self->busy) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_RuntimeError, "a Scanner reads one block at a time");
        return NULL;
    }
    self->busy = 1;
    Out o;
    memset(&o, 0, sizeof o);
    Py_ssize_t result = put_offset_zero(&o) ? -1 : 0;
    if (result == 0) {
        Py_BEGIN_ALLOW_THREADS
        result = scan_lines(&o, &self->peers, &self->spans, view.buf,
                            (const char *)view.buf + view.len, (int64_t)window);
        Py_END_ALLOW_THREADS
    }
    self->busy = 0;
    PyBuffer_Release(&view);
    if (result != 0) {
        out_free(&o);
        if (result < 0) return PyErr_NoMemory();
        return PyLong_FromSsize_t(result);
    }
    PyObject *cols = columns(&o);
    out_free(&o);
    return cols;
}

static PyObject *span_bytes(const Spans *spans, int32_t id) {
    if (id < 0) return PyBytes_FromStringAndSize("", 0);
    return PyBytes_FromStringAndSize(spans->bytes.p + span_at(spans, id), span_len(spans, id));
}

static PyObject *Scanner_peers(Scanner *self, PyObject *Py_UNUSED(ignored)) {
    Peers *t = &self->peers;
    int32_t count = t->next_id - t->base;
    PyObject *list = PyList_New(0);
    if (!list) return NULL;
    for (int32_t i = t->reported; i < count; i++) {
        int32_t *ids = (int32_t *)t->ids.p + 3 * i;
        PyObject *item = Py_BuildValue("(iNNN)", t->base + i, span_bytes(&self->spans, ids[0]),
                                       span_bytes(&self->spans, ids[1]),
                                       span_bytes(&self->spans, ids[2]));
        if (!item || PyList_Append(list, item)) {
            Py_XDECREF(item);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(item);
    }
    t->reported = count;
    return list;
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"base", "limit", NULL};
    int base = 0, limit = 1 << 22;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|ii", names, &base, &limit)) return -1;
    if (base < 0 || limit < 1 || (int64_t)base + limit > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "ids base..base+limit must be non-negative int32");
        return -1;
    }
    self->peers.base = self->peers.next_id = base;
    self->peers.limit = limit;
    return 0;
}

static void Scanner_dealloc(Scanner *self) {
    free(self->peers.slots);
    buf_free(&self->peers.ids);
    free(self->spans.slots);
    buf_free(&self->spans.bytes);
    buf_free(&self->spans.starts);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS,
     "scan(block, window_us) -> columns tuple, or the 1-based number of the first line it "
     "refuses"},
    {"peers", (PyCFunction)Scanner_peers, METH_NOARGS,
     "peers() -> [(id, endpoint JSON, names JSON, service JSON)] interned since the last call"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "trustmap.observe.formats._hubblescan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Reads blocks of Hubble JSON lines into column buffers (one thread at a time).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_methods = Scanner_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_hubblescan", "Strict fast reader of Hubble JSON lines.", -1, NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__hubblescan(void) {
    for (int c = 0; c < 256; c++) special[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    Py_INCREF(&ScannerType);
    if (PyModule_AddObject(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(&ScannerType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
