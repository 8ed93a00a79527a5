/*
 * LD_PRELOAD shim: set TCP_NODELAY on every accepted connection.
 *
 * ngIRCd and InspIRCd leave Nagle's algorithm on, which saves them CPU under
 * load and costs them latency; hubbub turns it off.  bench/compare.py runs
 * them once more with this shim ("ngircd-nodelay", "InspIRCd-nodelay") so the
 * two costs can be told apart.
 *
 *     gcc -O2 -shared -fPIC -o nodelay.so nodelay.c -ldl
 *     LD_PRELOAD=./nodelay.so ngircd --nodaemon ...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int nodelay(int fd)
{
    if (fd >= 0) {
        int on = 1;
        /* Fails harmlessly on a socket that is not TCP (a Unix socket). */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    }
    return fd;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real)
        real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
    return nodelay(real(fd, addr, len));
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real)
        real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
    return nodelay(real(fd, addr, len, flags));
}
