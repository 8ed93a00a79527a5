/*
 * loadgen.c - a single-threaded epoll load generator for chat servers.
 *
 * It speaks hubbub's wire protocol (4-byte big-endian length + UTF-8 JSON,
 * see PROTOCOL.md) or plain IRC, so that hubbub can be compared with IRC
 * servers under the same load: N clients spread over R rooms (client i is in
 * room i % R), the first S clients sending, either paced (a total rate in
 * msg/s) or saturated (a window of messages in flight per sender).
 *
 * Every text starts with "<sender>.<monotonic send time in ns>." and is padded
 * with 'x', so every delivery yields a latency. A message counts when its send
 * stamp falls inside the measured window; after the window the senders stop
 * and the generator drains until every expected delivery arrived (or --settle
 * passes), so loss = expected - delivered is exact.
 *
 * Expected deliveries per message: every member of the room on hubbub (the
 * sender gets its echo), every member but the sender on IRC (no echo). In
 * saturated mode a sender's window is acknowledged from a receiver's view, the
 * same way for both protocols: a message leaves the window when the room's
 * designated receiver (its last member; never a sender on IRC) gets it.
 *
 * With --server-pid it samples a local server's CPU time (/proc/PID/stat) over
 * the window and its RSS (/proc/PID/status) before connecting and once every
 * client has joined. Its own CPU time (getrusage) is reported too: a share
 * near 1.0 of a core means the generator, not the server, is the bottleneck.
 *
 *   gcc -O2 -o loadgen bench/loadgen.c
 *   ./loadgen --proto hubbub --port 7878 --clients 50 --senders 5 --rate 3000
 *
 * Output: one JSON object on stdout. Diagnostics go to stderr. Exit status 0,
 * or 2 for a usage or setup failure (then the JSON has an "error" field).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum proto { HUBBUB, IRC };
enum state { ST_NEW, ST_CONNECTING, ST_REGISTERING, ST_JOINING, ST_READY, ST_DEAD };
enum phase { PH_SETUP, PH_WARMUP, PH_MEASURE, PH_DRAIN, PH_DONE };

#define MAX_INBUF (1u << 20)    /* larger than any frame or line we accept */
#define MAX_OUTBUF (64u << 20)  /* per client: far above what a run queues */
#define MAX_RETRIES 5           /* connection attempts lost during setup, per client */
#define HIST_SUB 1024           /* histogram: 1024 sub-buckets per power of two */
#define HIST_LEN (HIST_SUB * 2 + HIST_SUB * 40)

struct buf { char *data; size_t len, cap, off; };

struct client {
    int fd, index, room;
    enum state state;
    struct buf in, out;
    int retries;        /* connections lost during setup */
    int watching_out;   /* EPOLLOUT registered */
    int dirty;          /* out has bytes to flush */
    /* sender side */
    long outstanding;   /* saturated: messages not yet acknowledged */
    int64_t next_send;  /* paced: when the next message is due (ns) */
};

static struct {
    enum proto proto;
    const char *host;
    int port, clients, rooms, senders, inflight, text_size, concurrency;
    double rate, duration, warmup, settle, setup_timeout, timeout;
    int server_pid, quickack;
    const char *nick_prefix;
} opt = {HUBBUB, "127.0.0.1", 7878, 50, 1, 5, 64, 100, 64,
         0, 10, 1, 3, 60, 0, 0, 0, "b"};

static struct client *cl;
static int *members;        /* per room */
static int *acker;          /* per room: the client whose receipt acks a send */
static int ep;
static enum phase phase = PH_SETUP;
static int64_t m_start, m_end;  /* measured window (ns, CLOCK_MONOTONIC) */
static long long sent, expected, delivered, received_in_window, received_total;
static long long server_errors, disconnects, dirty_count, setup_retries;
static uint64_t hist[HIST_LEN];
static int64_t lat_max;
static int *dirty_list;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void fail(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "loadgen: %s\n", msg);
    printf("{\"error\": \"");
    for (const char *p = msg; *p; p++)
        putchar(*p == '"' || *p == '\\' ? '\'' : *p);
    printf("\"}\n");
    exit(2);
}

/* ---- latency histogram: ~0.1 % relative precision, fixed memory ---- */

static void hist_add(int64_t ns) {
    uint64_t v = ns < 0 ? 0 : (uint64_t)ns;
    size_t idx;
    if (v < 2 * HIST_SUB) {
        idx = v;
    } else {
        int shift = 63 - __builtin_clzll(v) - 10;  /* v >> shift in [1024, 2048) */
        idx = 2 * HIST_SUB + (size_t)(shift - 1) * HIST_SUB + ((v >> shift) - HIST_SUB);
        if (idx >= HIST_LEN) idx = HIST_LEN - 1;
    }
    hist[idx]++;
    if (ns > lat_max) lat_max = ns;
}

static double hist_value_ms(size_t idx) {
    if (idx < 2 * HIST_SUB) return idx / 1e6;
    size_t rest = idx - 2 * HIST_SUB;
    int shift = (int)(rest / HIST_SUB) + 1;
    uint64_t low = (uint64_t)(rest % HIST_SUB + HIST_SUB) << shift;
    return (low + (1ull << shift) / 2) / 1e6;  /* middle of the bucket */
}

static double percentile_ms(double p) {
    uint64_t total = 0, seen = 0;
    for (size_t i = 0; i < HIST_LEN; i++) total += hist[i];
    if (!total) return -1;
    uint64_t rank = (uint64_t)(p / 100.0 * (double)total);
    if (rank >= total) rank = total - 1;
    for (size_t i = 0; i < HIST_LEN; i++) {
        seen += hist[i];
        if (seen > rank) return hist_value_ms(i);
    }
    return lat_max / 1e6;
}

/* ---- buffers and output ---- */

static void buf_reserve(struct buf *b, size_t extra, size_t limit) {
    if (b->len + extra <= b->cap) return;
    if (b->off) {  /* compact before growing */
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
        if (b->len + extra <= b->cap) return;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra) cap *= 2;
    if (cap > limit) fail("buffer limit of %zu bytes exceeded", limit);
    b->data = realloc(b->data, cap);
    if (!b->data) fail("out of memory");
    b->cap = cap;
}

/* A client with an open socket. */
static int alive(const struct client *c) { return c->state != ST_DEAD && c->state != ST_NEW; }

static void mark_dirty(struct client *c) {
    if (!c->dirty) {
        c->dirty = 1;
        dirty_list[dirty_count++] = c->index;
    }
}

/* Queue one hubbub frame (body given) or one IRC line (CRLF appended). */
static void send_raw(struct client *c, const char *body, size_t n) {
    buf_reserve(&c->out, n + 4, MAX_OUTBUF);
    char *p = c->out.data + c->out.len;
    if (opt.proto == HUBBUB) {
        uint32_t be = htonl((uint32_t)n);
        memcpy(p, &be, 4);
        memcpy(p + 4, body, n);
        c->out.len += n + 4;
    } else {
        memcpy(p, body, n);
        memcpy(p + n, "\r\n", 2);
        c->out.len += n + 2;
    }
    mark_dirty(c);
}

static void sendf(struct client *c, const char *fmt, ...) {
    char line[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof line) fail("message too long");
    send_raw(c, line, (size_t)n);
}

static void watch(struct client *c, int want_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u64 = (uint64_t)c->index};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
    c->watching_out = want_out;
}

static void drop(struct client *c, const char *why) {
    if (!alive(c)) return;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
    if (phase == PH_SETUP) {  /* e.g. reset by a full accept queue: connect again */
        if (++c->retries > MAX_RETRIES) fail("client %d lost during setup: %s", c->index, why);
        setup_retries++;
        c->in.len = c->in.off = c->out.len = c->out.off = 0;
        c->state = ST_NEW;
        return;
    }
    if (disconnects++ < 5) fprintf(stderr, "loadgen: client %d disconnected: %s\n", c->index, why);
    c->state = ST_DEAD;
}

static void flush(struct client *c) {
    c->dirty = 0;
    if (!alive(c) || c->state == ST_CONNECTING) return;
    while (c->out.off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL);
        if (n > 0) { c->out.off += (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!c->watching_out) watch(c, 1);
            return;
        }
        drop(c, n < 0 ? strerror(errno) : "send returned 0");
        return;
    }
    c->out.off = c->out.len = 0;
    if (c->watching_out) watch(c, 0);
}

/* ---- the two protocols ---- */

static void send_text(struct client *c) {
    char text[4096];
    int64_t stamp = now_ns();
    int n = snprintf(text, sizeof text, "%d.%lld.", c->index, (long long)stamp);
    while (n < opt.text_size && n < (int)sizeof text - 1) text[n++] = 'x';
    text[n] = 0;
    if (opt.proto == HUBBUB)
        sendf(c, "{\"type\":\"say\",\"room\":\"bench%d\",\"text\":\"%s\"}", c->room, text);
    else
        sendf(c, "PRIVMSG #bench%d :%s", c->room, text);
    c->outstanding++;
    /* Counted by its stamp, as on_text counts deliveries: a send late in the
     * loop turn that ends the window carries a stamp past m_end. */
    if (phase == PH_MEASURE && stamp < m_end) {
        sent++;
        expected += members[c->room] - (opt.proto == IRC ? 1 : 0);
    }
}

/* A delivered text: "<sender>.<ns>.xxx". */
static void on_text(struct client *c, const char *t, const char *end, int64_t now) {
    char *p;
    long s = strtol(t, &p, 10);
    if (p >= end || *p != '.' || s < 0 || s >= opt.senders) return;
    long long stamp = strtoll(p + 1, &p, 10);
    if (p >= end || *p != '.') return;
    received_total++;
    if (phase == PH_MEASURE) received_in_window++;
    if (stamp >= m_start && stamp < m_end && m_start) {
        delivered++;
        hist_add(now - stamp);
    }
    if (acker[c->room] == c->index && cl[s].room == c->room) cl[s].outstanding--;
}

static void set_ready(struct client *c) {
    if (c->state != ST_READY) c->state = ST_READY;
}

/* Find `"key":` in a JSON body and return a pointer to its string value. */
static const char *json_str(const char *body, const char *end, const char *key, size_t keylen) {
    const char *p = memmem(body, (size_t)(end - body), key, keylen);
    if (!p) return NULL;
    p += keylen;
    while (p < end && *p == ' ') p++;
    return p < end && *p == '"' ? p + 1 : NULL;
}

static void on_frame(struct client *c, const char *body, const char *end, int64_t now) {
    const char *type = json_str(body, end, "\"type\":", 7);
    if (!type) return;
    size_t left = (size_t)(end - type);
#define IS(word) (left > sizeof(word) - 1 && !memcmp(type, word "\"", sizeof(word)))
    if (IS("message")) {
        const char *text = json_str(body, end, "\"text\":", 7);
        if (text) on_text(c, text, end, now);
    } else if (IS("ping")) {
        const char *tok = json_str(body, end, "\"token\":", 8);
        const char *q = tok;
        while (q && q < end && *q != '"') q += (*q == '\\') ? 2 : 1;
        if (tok && q < end)
            sendf(c, "{\"type\":\"pong\",\"token\":\"%.*s\"}", (int)(q - tok), tok);
        else
            sendf(c, "{\"type\":\"pong\"}");
    } else if (IS("joined")) {
        set_ready(c);
    } else if (IS("error") || IS("bye")) {
        if (server_errors++ < 5)
            fprintf(stderr, "loadgen: client %d got %.*s\n", c->index, (int)(end - body > 200 ? 200 : end - body), body);
        if (phase == PH_SETUP) fail("client %d refused during setup", c->index);
    }
#undef IS
}

static void on_line(struct client *c, char *line, char *end, int64_t now) {
    char *p = line;
    if (*p == ':') {  /* skip the prefix */
        while (p < end && *p != ' ') p++;
        while (p < end && *p == ' ') p++;
    }
    char *cmd = p;
    while (p < end && *p != ' ') p++;
    size_t cmdlen = (size_t)(p - cmd);
    while (p < end && *p == ' ') p++;
#define CMD(word) (cmdlen == sizeof(word) - 1 && !memcmp(cmd, word, cmdlen))
    if (CMD("PRIVMSG")) {
        char *text = memmem(p, (size_t)(end - p), " :", 2);
        if (text) on_text(c, text + 2, end, now);
    } else if (CMD("PING")) {
        sendf(c, "PONG %.*s", (int)(end - p), p);
    } else if (CMD("001") && c->state == ST_REGISTERING) {
        c->state = ST_JOINING;
        sendf(c, "JOIN #bench%d", c->room);
    } else if (CMD("366") && c->state == ST_JOINING) {
        set_ready(c);
    } else if (CMD("ERROR") || CMD("433") || CMD("432") || CMD("471") || CMD("404")) {
        if (server_errors++ < 5)
            fprintf(stderr, "loadgen: client %d got %.*s\n", c->index, (int)(end - line), line);
        if (phase == PH_SETUP) fail("client %d refused during setup", c->index);
    }
#undef CMD
}

/* Parse every complete frame or line in the input buffer. */
static void parse_input(struct client *c, int64_t now) {
    struct buf *b = &c->in;
    while (alive(c)) {
        char *start = b->data + b->off;
        size_t avail = b->len - b->off;
        if (opt.proto == HUBBUB) {
            if (avail < 4) break;
            uint32_t n;
            memcpy(&n, start, 4);
            n = ntohl(n);
            if (n == 0 || n > MAX_INBUF - 4) { drop(c, "bad frame length"); return; }
            if (avail < 4 + (size_t)n) { buf_reserve(b, 4 + n - avail, MAX_INBUF); break; }
            on_frame(c, start + 4, start + 4 + n, now);
            b->off += 4 + n;
        } else {
            char *nl = memchr(start, '\n', avail);
            if (!nl) break;
            char *end = nl > start && nl[-1] == '\r' ? nl - 1 : nl;
            on_line(c, start, end, now);
            b->off += (size_t)(nl + 1 - start);
        }
    }
    if (b->off == b->len) b->off = b->len = 0;
}

static void on_readable(struct client *c) {
    for (int rounds = 0; rounds < 16 && alive(c); rounds++) {
        buf_reserve(&c->in, 65536, MAX_INBUF + 65536);
        ssize_t n = recv(c->fd, c->in.data + c->in.len, c->in.cap - c->in.len, 0);
        if (n > 0) {
            if (opt.quickack) {  /* re-armed after every read: the kernel clears it */
                int one = 1;
                setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
            }
            c->in.len += (size_t)n;
            parse_input(c, now_ns());
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        drop(c, n == 0 ? "closed by server" : strerror(errno));
    }
}

/* ---- connection setup ---- */

static void start_connect(struct client *c, struct sockaddr_in *addr) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) fail("socket: %s (raise ulimit -n)", strerror(errno));
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint64_t)c->index};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
    c->watching_out = 1;
    if (connect(c->fd, (struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS)
        fail("connect: %s", strerror(errno));
    c->state = ST_CONNECTING;
}

static void on_connected(struct client *c) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == ECONNREFUSED) fail("connect to %s:%d: %s", opt.host, opt.port, strerror(err));
    if (err) { drop(c, strerror(err)); return; }
    c->state = ST_REGISTERING;
    if (opt.proto == HUBBUB) {  /* hello and join pipelined: the server takes them in order */
        sendf(c, "{\"type\":\"hello\",\"nick\":\"%s%d\",\"protocol\":1}", opt.nick_prefix, c->index);
        sendf(c, "{\"type\":\"join\",\"room\":\"bench%d\"}", c->room);
    } else {
        sendf(c, "NICK %s%d", opt.nick_prefix, c->index);
        sendf(c, "USER %s%d 0 * :loadgen", opt.nick_prefix, c->index);
    }
    watch(c, 0);
}

/* ---- measurements of a local server ---- */

static double proc_cpu_s(int pid) {
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char *p = strrchr(text, ')');
    unsigned long long ut = 0, st = 0;
    /* after ")": state(3) ... utime(14) stime(15) */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_rss_kib(int pid) {
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
    fclose(f);
    return kib;
}

static double own_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* ---- options ---- */

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen [--proto hubbub|irc] [--host H] [--port P] [--clients N] [--rooms R]\n"
            "               [--senders S] [--rate MSG_PER_S (0: saturated)] [--inflight W]\n"
            "               [--text-size C] [--duration S] [--warmup S] [--settle S]\n"
            "               [--concurrency N] [--setup-timeout S] [--timeout S]\n"
            "               [--server-pid PID] [--nick-prefix P] [--quickack 0|1]\n");
    exit(2);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--help") || !v) usage();
        i++;
        if (!strcmp(k, "--proto")) {
            if (!strcmp(v, "hubbub")) opt.proto = HUBBUB;
            else if (!strcmp(v, "irc")) opt.proto = IRC;
            else usage();
        }
        else if (!strcmp(k, "--host")) opt.host = v;
        else if (!strcmp(k, "--port")) opt.port = atoi(v);
        else if (!strcmp(k, "--clients")) opt.clients = atoi(v);
        else if (!strcmp(k, "--rooms")) opt.rooms = atoi(v);
        else if (!strcmp(k, "--senders")) opt.senders = atoi(v);
        else if (!strcmp(k, "--rate")) opt.rate = atof(v);
        else if (!strcmp(k, "--inflight")) opt.inflight = atoi(v);
        else if (!strcmp(k, "--text-size")) opt.text_size = atoi(v);
        else if (!strcmp(k, "--duration")) opt.duration = atof(v);
        else if (!strcmp(k, "--warmup")) opt.warmup = atof(v);
        else if (!strcmp(k, "--settle")) opt.settle = atof(v);
        else if (!strcmp(k, "--concurrency")) opt.concurrency = atoi(v);
        else if (!strcmp(k, "--setup-timeout")) opt.setup_timeout = atof(v);
        else if (!strcmp(k, "--timeout")) opt.timeout = atof(v);
        else if (!strcmp(k, "--server-pid")) opt.server_pid = atoi(v);
        else if (!strcmp(k, "--nick-prefix")) opt.nick_prefix = v;
        else if (!strcmp(k, "--quickack")) opt.quickack = atoi(v);
        else usage();
    }
    if (opt.clients < 1 || opt.rooms < 1 || opt.rooms > opt.clients || opt.senders < 0 ||
        opt.senders > opt.clients || opt.inflight < 1 || opt.text_size < 1 ||
        opt.text_size > 4000 || opt.duration <= 0 || opt.warmup < 0 || opt.settle < 0 ||
        opt.rate < 0 || opt.concurrency < 1)
        fail("invalid option values");
    if (opt.timeout <= 0)
        opt.timeout = opt.setup_timeout + opt.warmup + opt.duration + opt.settle + 30;
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    alarm((unsigned)opt.timeout + 10);  /* backstop if the loop below ever wedges */

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    if (inet_pton(AF_INET, opt.host, &addr.sin_addr) != 1) fail("--host must be an IPv4 address");

    cl = calloc((size_t)opt.clients, sizeof *cl);
    dirty_list = calloc((size_t)opt.clients, sizeof *dirty_list);
    members = calloc((size_t)opt.rooms, sizeof *members);
    acker = calloc((size_t)opt.rooms, sizeof *acker);
    if (!cl || !dirty_list || !members || !acker) fail("out of memory");
    for (int i = 0; i < opt.clients; i++) {
        cl[i].index = i;
        cl[i].room = i % opt.rooms;
        cl[i].fd = -1;
        members[cl[i].room]++;
        acker[cl[i].room] = i;  /* ends as the room's last member */
    }
    for (int s = 0; s < opt.senders; s++) {
        if (opt.proto == IRC && acker[cl[s].room] < opt.senders)
            fail("room %d has no member that is not a sender", cl[s].room);
        if (opt.proto == IRC && members[cl[s].room] < 2) fail("IRC needs 2+ members per room");
    }
    if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0) fail("epoll_create1: %s", strerror(errno));

    long rss_before = opt.server_pid ? proc_rss_kib(opt.server_pid) : -1, rss_joined = -1;
    double srv_cpu0 = 0, srv_cpu1 = 0, own0 = 0, own1 = 0;
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(opt.timeout * 1e9);
    int64_t setup_deadline = t0 + (int64_t)(opt.setup_timeout * 1e9), phase_end = 0;
    int64_t interval = opt.rate > 0 ? (int64_t)(1e9 * opt.senders / opt.rate) : 0;
    int ready = 0, timed_out = 0;
    double setup_s = 0;
    struct epoll_event events[1024];

    while (phase != PH_DONE) {
        int64_t now = now_ns();
        if (now > deadline) { timed_out = 1; break; }

        /* phase changes */
        if (phase == PH_SETUP) {
            if (now > setup_deadline) {
                int count[ST_DEAD + 1] = {0};
                for (int i = 0; i < opt.clients; i++) count[cl[i].state]++;
                fail("only %d of %d clients joined in %.0f s (connecting %d, registering %d, joining %d)",
                     ready, opt.clients, opt.setup_timeout, count[ST_CONNECTING], count[ST_REGISTERING],
                     count[ST_JOINING]);
            }
            ready = 0;
            /* --concurrency bounds the clients between connect() and joined:
             * keep it within the server's listen backlog (ngircd: 10), or SYNs
             * get dropped and retried after 1, 2, 4 ... s. */
            int pending = 0;
            for (int i = 0; i < opt.clients; i++) {
                ready += cl[i].state == ST_READY;
                pending += alive(&cl[i]) && cl[i].state != ST_READY;
            }
            for (int i = 0; i < opt.clients && pending < opt.concurrency; i++) {
                if (cl[i].state == ST_NEW) {
                    start_connect(&cl[i], &addr);
                    pending++;
                }
            }
            if (ready == opt.clients) {
                setup_s = (now - t0) / 1e9;
                phase = PH_WARMUP;
                phase_end = now + (int64_t)(opt.warmup * 1e9);
                for (int s = 0; s < opt.senders; s++)  /* spread the senders over one interval */
                    cl[s].next_send = now + interval * s / (opt.senders ? opt.senders : 1);
            }
        }
        if (phase == PH_WARMUP && now >= phase_end) {
            if (opt.server_pid) { rss_joined = proc_rss_kib(opt.server_pid); srv_cpu0 = proc_cpu_s(opt.server_pid); }
            own0 = own_cpu_s();
            phase = PH_MEASURE;
            m_start = now;
            m_end = phase_end = now + (int64_t)(opt.duration * 1e9);
        }
        if (phase == PH_MEASURE && now >= phase_end) {
            if (opt.server_pid) srv_cpu1 = proc_cpu_s(opt.server_pid);
            own1 = own_cpu_s();
            phase = PH_DRAIN;
            phase_end = now + (int64_t)(opt.settle * 1e9);
        }
        if (phase == PH_DRAIN && (delivered >= expected || now >= phase_end)) {
            phase = PH_DONE;
            break;
        }

        /* sends */
        int64_t wake = now + 100000000;  /* poll at least every 100 ms */
        if (phase == PH_WARMUP || phase == PH_MEASURE) {
            for (int s = 0; s < opt.senders; s++) {
                struct client *c = &cl[s];
                if (c->state != ST_READY) continue;
                if (interval) {
                    for (int k = 0; k < 1000 && c->next_send <= now; k++) {
                        send_text(c);
                        c->next_send += interval;
                    }
                    if (c->next_send < wake) wake = c->next_send;
                } else {
                    for (int k = 0; k < opt.inflight && c->outstanding < opt.inflight; k++) send_text(c);
                }
            }
            if (phase_end < wake) wake = phase_end;
        }
        for (long long i = 0; i < dirty_count; i++) flush(&cl[dirty_list[i]]);
        dirty_count = 0;

        int timeout_ms = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;
        int n = epoll_wait(ep, events, 1024, phase == PH_SETUP ? 10 : timeout_ms);
        if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct client *c = &cl[events[i].data.u64];
            if (!alive(c)) continue;
            if (c->state == ST_CONNECTING) {
                on_connected(c);
                continue;
            }
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
            if ((events[i].events & EPOLLOUT) && alive(c)) flush(c);
        }
    }
    if (timed_out) fprintf(stderr, "loadgen: hard timeout of %.0f s reached\n", opt.timeout);

    double window = opt.duration;
    double server_cpu = opt.server_pid ? srv_cpu1 - srv_cpu0 : -1;
    long long lost = expected > delivered ? expected - delivered : 0;
    printf("{\"proto\": \"%s\", \"clients\": %d, \"rooms\": %d, \"senders\": %d, \"rate\": %g, "
           "\"inflight\": %d, \"text_size\": %d, \"duration\": %g, \"setup_s\": %.3f,\n",
           opt.proto == HUBBUB ? "hubbub" : "irc", opt.clients, opt.rooms, opt.senders, opt.rate,
           opt.inflight, opt.text_size, window, setup_s);
    printf(" \"sent\": %lld, \"expected\": %lld, \"delivered\": %lld, \"lost\": %lld, \"loss\": %.6f, "
           "\"msgs_per_s\": %.1f, \"deliveries_per_s\": %.1f, \"received_total\": %lld,\n",
           sent, expected, delivered, lost, expected ? (double)lost / (double)expected : 0.0,
           sent / window, received_in_window / window, received_total);
    printf(" \"latency_ms\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, \"max\": %.3f},\n",
           percentile_ms(50), percentile_ms(90), percentile_ms(99), lat_max / 1e6);
    printf(" \"loadgen_cpu_s\": %.3f, \"loadgen_cpu_share\": %.3f,\n", own1 - own0, (own1 - own0) / window);
    printf(" \"server_cpu_s\": %.3f, \"server_cpu_share\": %.3f, \"server_cpu_us_per_delivery\": %.4f,\n",
           server_cpu, opt.server_pid ? server_cpu / window : -1.0,
           opt.server_pid && received_in_window ? server_cpu * 1e6 / (double)received_in_window : -1.0);
    printf(" \"server_rss_before_kib\": %ld, \"server_rss_joined_kib\": %ld, \"server_rss_per_conn_kib\": %.2f,\n",
           rss_before, rss_joined,
           opt.server_pid && rss_joined >= 0 ? (double)(rss_joined - rss_before) / opt.clients : -1.0);
    printf(" \"server_errors\": %lld, \"disconnects\": %lld, \"setup_retries\": %lld, \"timed_out\": %s}\n",
           server_errors, disconnects, setup_retries, timed_out ? "true" : "false");
    fflush(stdout);
    return 0;
}
