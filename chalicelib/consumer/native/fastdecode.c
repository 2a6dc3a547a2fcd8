/* NDJSON game events -> column buffers, for the common case only.
 *
 * Called through ctypes by chalicelib/consumer/native/__init__.py. It parses each line's
 * JSON object and fills, per known field, a validity state and the value: string bytes
 * with int32 offsets, int64 integers, or timestamps as UTC microseconds. It decides no
 * contract question beyond JSON syntax and the field's JSON type: lengths, ranges,
 * patterns, required fields and tags are checked in bulk in Python afterwards.
 *
 * It *defers* (returns 1 + the line's index) whenever a line is outside what it handles
 * exactly like msgspec would, and the caller then decodes the whole chunk with msgspec:
 *   - a known field whose value is a string with an escape, a control or non-ASCII byte;
 *   - a known integer with a fraction, an exponent, a leading zero or > 18 digits;
 *   - a timestamp not shaped YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|-HH:MM) or not a real date;
 *   - a key with an escape, a known key twice, an unknown field holding an object or array;
 *   - anything that is not exactly one JSON object on the line.
 * Unknown fields holding a string, number, true, false or null are checked for JSON
 * syntax and skipped, as msgspec skips them.
 */
#include <stdint.h>
#include <string.h>

#define NF 19
static const char *const NAMES[NF] = {
    "event_type", "userid", "event_ts", "event_id", "app_version", "received_at", "host",
    "user_agent", "description", "item_type", "guild_name", "amount_purchased", "price",
    "level", "attack", "defense", "health", "session_id", "platform"};
enum { K_STR, K_INT, K_TS };
static const int KINDS[NF] = {K_STR, K_STR, K_TS,  K_STR, K_STR, K_TS,  K_STR,
                              K_STR, K_STR, K_STR, K_STR, K_INT, K_INT, K_INT,
                              K_INT, K_INT, K_INT, K_STR, K_STR};
enum { S_MISSING = 0, S_VALUE = 1, S_NULL = 2 };

/* event_type values -> class codes (set once by Python, in its class order). */
#define MAX_TAGS 32
static int n_tags;
static const char *tags[MAX_TAGS];
static long tag_lengths[MAX_TAGS];

int gp_set_tags(int n, const char *const *values) {
    if (n < 0 || n > MAX_TAGS) return -1;
    for (int i = 0; i < n; i++) {
        tags[i] = values[i];
        tag_lengths[i] = (long)strlen(values[i]);
    }
    n_tags = n;
    return 0;
}

static int64_t tag_code(const char *s, long n) {
    for (int i = 0; i < n_tags; i++)
        if (tag_lengths[i] == n && !memcmp(tags[i], s, (size_t)n)) return i;
    return -1;
}

/* The field list, so Python can check it matches its own. */
int gp_field_count(void) { return NF; }
const char *gp_field_name(int i) { return i >= 0 && i < NF ? NAMES[i] : 0; }
int gp_field_kind(int i) { return i >= 0 && i < NF ? KINDS[i] : -1; }

#define IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)
#define TWO(p) (((p)[0] - '0') * 10 + ((p)[1] - '0'))

static const char *skip_ws(const char *p, const char *e) {
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    return p;
}

static int days_in_month(int y, int m) {
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 ? 28 + ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0) : d[m - 1];
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* RFC 3339 subset -> microseconds since the epoch, UTC. 0 = not handled here. */
static int parse_timestamp(const char *s, long n, int64_t *out) {
    static const int digits[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return 0;
    for (int i = 0; i < 14; i++)
        if (!IS_DIGIT(s[digits[i]])) return 0;
    int y = TWO(s) * 100 + TWO(s + 2), mo = TWO(s + 5), d = TWO(s + 8);
    int h = TWO(s + 11), mi = TWO(s + 14), se = TWO(s + 17);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        se > 59)
        return 0;
    long i = 19;
    int64_t micros = 0;
    if (i < n && s[i] == '.') {
        int k = 0;
        for (i++; i < n && IS_DIGIT(s[i]); i++, k++) {
            if (k == 6) return 0; /* more than 6 digits: msgspec rounds; let it */
            micros = micros * 10 + (s[i] - '0');
        }
        if (k == 0) return 0;
        for (; k < 6; k++) micros *= 10;
    }
    int64_t offset = 0;
    if (i == n - 1 && s[i] == 'Z') {
        /* UTC */
    } else if (i == n - 6 && (s[i] == '+' || s[i] == '-') && IS_DIGIT(s[i + 1]) &&
               IS_DIGIT(s[i + 2]) && s[i + 3] == ':' && IS_DIGIT(s[i + 4]) && IS_DIGIT(s[i + 5])) {
        int oh = TWO(s + i + 1), om = TWO(s + i + 4);
        if (oh > 23 || om > 59) return 0;
        offset = (int64_t)(oh * 60 + om) * 60;
        if (s[i] == '-') offset = -offset;
    } else {
        return 0;
    }
    int64_t seconds = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    *out = (seconds - offset) * 1000000 + micros;
    return 1;
}

/* A JSON string starting at p (on the opening quote), escapes checked; end or 0. */
static const char *skip_string(const char *p, const char *e) {
    for (p++; p < e; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"') return p + 1;
        if (c < 0x20) return 0;
        if (c == '\\') {
            if (++p >= e) return 0;
            switch (*p) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                break;
            case 'u':
                for (int k = 1; k <= 4; k++) {
                    char x = p + k < e ? p[k] : 0;
                    if (!(IS_DIGIT(x) || (x >= 'a' && x <= 'f') || (x >= 'A' && x <= 'F'))) return 0;
                }
                p += 4;
                break;
            default:
                return 0;
            }
        }
    }
    return 0;
}

/* A JSON number (grammar checked); end or 0. */
static const char *skip_number(const char *p, const char *e) {
    if (p < e && *p == '-') p++;
    if (p >= e || !IS_DIGIT(*p)) return 0;
    if (*p == '0') p++;
    else while (p < e && IS_DIGIT(*p)) p++;
    if (p < e && *p == '.') {
        p++;
        if (p >= e || !IS_DIGIT(*p)) return 0;
        while (p < e && IS_DIGIT(*p)) p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || !IS_DIGIT(*p)) return 0;
        while (p < e && IS_DIGIT(*p)) p++;
    }
    return p;
}

static const char *skip_scalar(const char *p, const char *e) {
    if (p >= e) return 0;
    if (*p == '"') return skip_string(p, e);
    if (*p == '-' || IS_DIGIT(*p)) return skip_number(p, e);
    if (e - p >= 4 && (!memcmp(p, "true", 4) || !memcmp(p, "null", 4))) return p + 4;
    if (e - p >= 5 && !memcmp(p, "false", 5)) return p + 5;
    return 0; /* objects, arrays (deferred) and invalid JSON */
}

static int field_index(const char *k, long n) {
    static long lengths[NF];
    if (!lengths[0])
        for (int f = 0; f < NF; f++) lengths[f] = (long)strlen(NAMES[f]);
    for (int f = 0; f < NF; f++)
        if (lengths[f] == n && NAMES[f][0] == k[0] && !memcmp(NAMES[f], k, (size_t)n)) return f;
    return -1;
}

/* Decode ``nlines`` newline-separated lines of ``buf``. Per field f: ``off[f]`` int32
 * [nlines + 1] and ``data[f]`` (>= len bytes) for strings, ``ival[f]`` int64[nlines] for
 * integers, timestamps and event_type's class code (-1: not a tag set by gp_set_tags),
 * ``state[f]`` uint8[nlines]. Returns 0, or 1 + the index of the first line deferred. */
long gp_decode(const char *buf, long len, long nlines, int32_t *const *off, char *const *data,
               int64_t *const *ival, uint8_t *const *state) {
    const char *p = buf, *end = buf + len;
    int32_t used[NF] = {0};
    for (int f = 0; f < NF; f++) off[f][0] = 0;
    for (long line = 0; line < nlines; line++) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e) e = end;
        uint32_t seen = 0;
        p = skip_ws(p, e);
        if (p >= e || *p != '{') return 1 + line;
        p = skip_ws(p + 1, e);
        if (p < e && *p == '}') {
            p++;
        } else {
            for (;;) {
                if (p >= e || *p != '"') return 1 + line;
                const char *k = ++p;
                while (p < e && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20) p++;
                if (p >= e || *p != '"') return 1 + line;
                int f = field_index(k, p - k);
                p = skip_ws(p + 1, e);
                if (p >= e || *p != ':') return 1 + line;
                p = skip_ws(p + 1, e);
                if (f < 0) {
                    p = skip_scalar(p, e);
                    if (!p) return 1 + line;
                } else {
                    if (seen & (1u << f)) return 1 + line;
                    seen |= 1u << f;
                    if (e - p >= 4 && !memcmp(p, "null", 4)) {
                        state[f][line] = S_NULL;
                        p += 4;
                    } else if (KINDS[f] == K_INT) {
                        int neg = 0, nd = 0;
                        int64_t v = 0;
                        if (p < e && *p == '-') { neg = 1; p++; }
                        if (p >= e || !IS_DIGIT(*p) || (*p == '0' && p + 1 < e && IS_DIGIT(p[1])))
                            return 1 + line;
                        for (; p < e && IS_DIGIT(*p); p++) {
                            if (++nd > 18) return 1 + line;
                            v = v * 10 + (*p - '0');
                        }
                        if (p < e && (*p == '.' || *p == 'e' || *p == 'E')) return 1 + line;
                        ival[f][line] = neg ? -v : v;
                        state[f][line] = S_VALUE;
                    } else {
                        if (p >= e || *p != '"') return 1 + line;
                        const char *s = ++p;
                        while (p < e && *p != '"') {
                            unsigned char c = (unsigned char)*p;
                            if (c == '\\' || c < 0x20 || c >= 0x7f) return 1 + line;
                            p++;
                        }
                        if (p >= e) return 1 + line;
                        long n = p - s;
                        p++;
                        if (KINDS[f] == K_TS) {
                            if (!parse_timestamp(s, n, &ival[f][line])) return 1 + line;
                        } else if (f == 0) { /* event_type: its class code, -1 if unknown */
                            ival[f][line] = tag_code(s, n);
                        } else {
                            memcpy(data[f] + used[f], s, (size_t)n);
                            used[f] += (int32_t)n;
                        }
                        state[f][line] = S_VALUE;
                    }
                }
                p = skip_ws(p, e);
                if (p < e && *p == ',') {
                    p = skip_ws(p + 1, e);
                    continue;
                }
                if (p < e && *p == '}') {
                    p++;
                    break;
                }
                return 1 + line;
            }
        }
        if (skip_ws(p, e) != e) return 1 + line;
        for (int f = 0; f < NF; f++) {
            if (!(seen & (1u << f))) state[f][line] = S_MISSING;
            off[f][line + 1] = used[f];
        }
        p = e + 1;
    }
    return 0;
}
