// Listen groups in the guest (ABI v2): LISTEN, JOIN, LEAVE,
// SHUTDOWN_LISTEN, slots freed on close/exit/exec, CPU-local selection
// (locality) for IPv4 and IPv6, and the issue 9 properties: no limit or
// policy skipped (somaxconn, credentials, netns), no connection lost
// (EMFILE, exec, the off switch), no foreign reuseport program replaced,
// affinity never changed by the module, /proc/fastsocket/listeners.
//
// Every listener is made here with plain system calls; workers are forked
// children that JOIN, then pin themselves; clients are threads pinned to
// one CPU each, so their SYN is processed there.
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "util.h"

using namespace fst;

namespace {

int Mode() { return ParamValue("enable_listen_spawn"); }

#define REQUIRE_MODE(m)                                                  \
  do {                                                                   \
    if (Mode() != (m)) GTEST_SKIP() << "needs enable_listen_spawn=" << (m); \
  } while (0)

#define REQUIRE_ON()                                                      \
  do {                                                                    \
    if (Mode() == 0) GTEST_SKIP() << "listen spawn is off";               \
  } while (0)

#define REQUIRE_CPUS(n)                                                  \
  do {                                                                   \
    if ((int)OnlineCpus().size() < (n)) GTEST_SKIP() << "needs " << (n) << " CPUs"; \
  } while (0)

// A listening, non-blocking SO_REUSEPORT TCP socket on loopback:port (0: a
// new port).
int ReuseportListener(int family, int* port, int backlog = 128) {
  int p = *port;
  int fd = -1;
  if (p == 0) {
    fd = BoundReuseport(family, port);
  } else {
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    sockaddr_storage ss;
    socklen_t len = LoopbackAddr(family, p, &ss);
    if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      close(fd);
      return -1;
    }
  }
  if (fd >= 0 && listen(fd, backlog) != 0) {
    close(fd);
    return -1;
  }
  // Several processes poll the same listeners: accept must never block.
  if (fd >= 0) fcntl(fd, F_SETFL, O_NONBLOCK);
  return fd;
}

// A registered listener (plain listen() + LISTEN ioctl).
struct Group {
  int fd = -1;
  int port = 0;
  int family = AF_INET;
};

// A listener of the caller in g's SO_REUSEPORT group (what JOIN takes).
int LocalFor(const Group& g) {
  int port = g.port;
  return ReuseportListener(g.family, &port);
}

Group MakeGroup(int dev, int family) {
  Group g;
  g.family = family;
  g.fd = ReuseportListener(family, &g.port);
  EXPECT_GE(g.fd, 0);
  fsocket_listen_arg a{g.fd, 0};
  EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), 0) << strerror(errno);
  return g;
}

// JOIN: 0 or errno; the CPU in *cpu.
int Join(int dev, int gfd, int lfd, int want, int* cpu = nullptr) {
  fsocket_join_arg a{gfd, lfd, want, 0};
  if (ioctl(dev, FSOCKET_IOC_JOIN, &a) != 0) return errno;
  if (cpu) *cpu = a.cpu;
  return 0;
}

int FdCmd(int dev, unsigned long cmd, int fd) {
  fsocket_fd_arg a{fd, 0};
  return ioctl(dev, cmd, &a) == 0 ? 0 : errno;
}

// A connection to loopback:port that gives up after timeout_ms (-1): a SYN
// that met a listener just as it closed is retransmitted only after 1 s,
// 3 s, ... and a loaded host must not turn that into a hung test.
int ConnectWithin(int family, int port, int timeout_ms) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_storage ss;
  socklen_t len = LoopbackAddr(family, port, &ss);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  struct pollfd p = {fd, POLLOUT, 0};
  int err = 0;
  socklen_t el = sizeof(err);
  if (poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
      err != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// A client connection made by a thread pinned to cpu.
int ConnectFromCpu(int family, int port, int cpu) {
  int fd = -1;
  std::thread t([&] {
    if (PinSelf(cpu)) fd = ConnectLoopback(family, port);
  });
  t.join();
  return fd;
}

int IncomingCpu(int fd) {
  int v = -1;
  socklen_t len = sizeof(v);
  getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &v, &len);
  return v;
}

// accept4 on fd, waiting up to timeout_ms.
int AcceptWait(int fd, int timeout_ms = 2000) {
  struct pollfd p = {fd, POLLIN, 0};
  if (poll(&p, 1, timeout_ms) != 1) return -1;
  return accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

// Which of fds has a connection queued (index), -1 if none within timeout.
int WhichAccepts(const std::vector<int>& fds, int* conn, int timeout_ms = 2000) {
  std::vector<struct pollfd> p;
  for (int fd : fds) p.push_back({fd, POLLIN, 0});
  if (poll(p.data(), p.size(), timeout_ms) <= 0) return -1;
  for (size_t i = 0; i < p.size(); i++) {
    if (!(p[i].revents & POLLIN)) continue;
    int c = accept4(fds[i], nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) {
      *conn = c;
      return (int)i;
    }
  }
  return -1;
}

unsigned long long StatTotal(const std::string& column) {
  std::string text = ReadFile("/proc/fastsocket/stats");
  std::istringstream in(text);
  std::string header, line;
  std::getline(in, header);
  std::istringstream h(header);
  std::vector<std::string> cols;
  std::string w;
  h >> w;
  while (h >> w) cols.push_back(w);
  while (std::getline(in, line)) {
    std::istringstream l(line);
    std::string key;
    l >> key;
    if (key != "total") continue;
    unsigned long long v;
    for (size_t i = 0; l >> v; i++)
      if (cols[i] == column) return v;
  }
  return ~0ull;
}

// The /proc/fastsocket/listeners line of the group on port (key -> value).
std::map<std::string, std::string> ViewLine(int port) {
  std::istringstream in(ReadFile(FSOCKET_LISTENERS_PATH));
  std::string line;
  std::string want = ":" + std::to_string(port);
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::map<std::string, std::string> kv;
    std::istringstream words(line);
    std::string w;
    while (words >> w) {
      size_t eq = w.find('=');
      if (eq != std::string::npos) kv[w.substr(0, eq)] = w.substr(eq + 1);
    }
    const std::string& addr = kv["addr"];
    if (addr.size() > want.size() &&
        addr.compare(addr.size() - want.size(), want.size(), want) == 0)
      return kv;
  }
  return {};
}

// Waits up to timeout_ms for the view's cpus= of port to become want.
bool WaitViewCpus(int port, const std::string& want, int timeout_ms = 2000) {
  for (int i = 0; i < timeout_ms / 10; i++) {
    if (ViewLine(port)["cpus"] == want) return true;
    usleep(10000);
  }
  return false;
}

bool Listening(int fd) {
  int v = 0;
  socklen_t len = sizeof(v);
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1;
}

void WriteFile(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  EXPECT_EQ(write(fd, text.data(), text.size()), (ssize_t)text.size())
      << path << ": " << strerror(errno);
  close(fd);
}

// ---- workers ---------------------------------------------------------------

struct Rec {
  int32_t kind;  // 0 = join result, 1 = accepted connection
  int32_t a, b, c, d;
};

struct Worker {
  pid_t pid = -1;
  int rec = -1;   // read end: records from the worker
  int stop = -1;  // write end: a byte stops the worker
  int err = 0;    // JOIN's errno
  int cpu = -1;   // JOIN's CPU
};

// Forks a worker: restrict to `allowed` (if not empty), make a local
// listener, JOIN it to g (want), pin itself, report; then accept from both
// listeners reporting {joined cpu, 1 = local listener, incoming cpu,
// sched_getcpu} per connection until told to stop.
Worker StartWorker(int dev, const Group& g, std::vector<int> allowed = {},
                   int want = -1, bool accept_loop = true) {
  int rp[2], sp[2];
  EXPECT_EQ(pipe2(rp, O_CLOEXEC), 0);
  EXPECT_EQ(pipe2(sp, O_CLOEXEC), 0);
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(rp[0]);
    close(sp[1]);
    if (!allowed.empty()) AllowCpus(allowed);
    int lfd = LocalFor(g);
    int cpu = -1;
    int err = lfd < 0 ? 200 : Join(dev, g.fd, lfd, want, &cpu);
    if (!err && !PinSelf(cpu)) err = 201;
    Rec r{0, err, cpu, 0, 0};
    if (write(rp[1], &r, sizeof(r)) != sizeof(r)) _exit(1);
    if (!accept_loop) {
      char c;
      (void)!read(sp[0], &c, 1);
      _exit(0);
    }
    for (;;) {
      struct pollfd p[3] = {{g.fd, POLLIN, 0}, {sp[0], POLLIN, 0}, {err ? -1 : lfd, POLLIN, 0}};
      poll(p, 3, 50);
      if (p[1].revents) _exit(0);
      for (int k : {0, 2}) {
        if (!(p[k].revents & POLLIN)) continue;
        int c = accept4(p[k].fd, nullptr, nullptr, SOCK_NONBLOCK);
        if (c < 0) continue;
        Rec x{1, err ? -1 : cpu, k == 2, IncomingCpu(c), sched_getcpu()};
        close(c);
        if (write(rp[1], &x, sizeof(x)) != sizeof(x)) _exit(1);
      }
    }
  }
  close(rp[1]);
  close(sp[0]);
  Worker w;
  w.pid = pid;
  w.rec = rp[0];
  w.stop = sp[1];
  Rec r{};
  EXPECT_EQ(read(w.rec, &r, sizeof(r)), (ssize_t)sizeof(r));
  w.err = r.a;
  w.cpu = r.b;
  return w;
}

void StopWorker(Worker& w) {
  if (w.pid <= 0) return;
  (void)!write(w.stop, "x", 1);
  close(w.stop);
  waitpid(w.pid, nullptr, 0);
  close(w.rec);
  w.pid = -1;
}

void KillWorker(Worker& w) {
  kill(w.pid, SIGKILL);
  waitpid(w.pid, nullptr, 0);
  close(w.stop);
  close(w.rec);
  w.pid = -1;
}

std::vector<Rec> Collect(std::vector<Worker>& ws, size_t n, int timeout_ms = 5000) {
  std::vector<Rec> out;
  std::vector<struct pollfd> p;
  for (auto& w : ws)
    if (w.pid > 0) p.push_back({w.rec, POLLIN, 0});
  while (out.size() < n) {
    if (poll(p.data(), p.size(), timeout_ms) <= 0) break;
    for (auto& x : p) {
      if (!(x.revents & POLLIN)) continue;
      Rec r;
      if (read(x.fd, &r, sizeof(r)) == sizeof(r) && r.kind == 1) out.push_back(r);
    }
  }
  return out;
}

class Family : public ::testing::TestWithParam<int> {};

std::string FamilyName(const ::testing::TestParamInfo<int>& info) {
  return info.param == AF_INET6 ? "IPv6" : "IPv4";
}

// ---- the ABI -----------------------------------------------------------------

TEST(ListenSpawn, FeaturesFollowTheMode) {
  int dev = OpenDev();
  fsocket_version v = Version(dev);
  uint64_t bits = FSOCKET_FEAT_LISTEN | FSOCKET_FEAT_JOIN;
  int port = 0;
  int fd = ReuseportListener(AF_INET, &port);
  fsocket_listen_arg la{fd, 0};
  if (Mode() == 0) {
    EXPECT_EQ(v.features & bits, 0u);
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &la), -1);
    EXPECT_EQ(errno, EOPNOTSUPP);
    EXPECT_EQ(Join(dev, fd, fd, -1), EOPNOTSUPP);
  } else {
    EXPECT_EQ(v.features & bits, bits);
  }
  close(fd);
  close(dev);
}

TEST(ListenSpawn, RejectsBadArguments) {
  REQUIRE_ON();
  int dev = OpenDev();
  int rc = RunChild([&] {
    int port = 0;
    int plain = ReuseportListener(AF_INET, &port);
    int other_port = 0;
    int other = ReuseportListener(AF_INET, &other_port);
    int lp = port;
    int local = ReuseportListener(AF_INET, &lp);
    // fd not registered.
    if (Join(dev, plain, local, -1) != EINVAL) return 1;
    Group g = MakeGroup(dev, AF_INET);
    int l2 = LocalFor(g);
    PinSelf(OnlineCpus()[0]);
    fsocket_join_arg a{g.fd, l2, -1, 1};
    if (ioctl(dev, FSOCKET_IOC_JOIN, &a) != -1 || errno != EINVAL) return 2;  // flags
    if (Join(dev, g.fd, l2, -5) != EINVAL) return 3;
    if (Join(dev, g.fd, l2, 100000) != EINVAL) return 4;
    if (Join(dev, g.fd, g.fd, -1) != EINVAL) return 5;      // itself
    if (Join(dev, g.fd, other, -1) != EINVAL) return 6;     // another port
    if (Join(dev, g.fd, local, -1) != EINVAL) return 7;     // another group
    int nl = socket(AF_INET, SOCK_STREAM, 0);
    if (Join(dev, g.fd, nl, -1) != EINVAL) return 8;        // not listening
    if (Join(dev, g.fd, 1 << 20, -1) != EBADF) return 9;
    int null_fd = open("/dev/null", O_RDONLY);
    if (Join(dev, g.fd, null_fd, -1) != ENOTSOCK) return 10;
    if (FdCmd(dev, FSOCKET_IOC_LEAVE, l2) != EINVAL) return 11;  // not joined
    if (FdCmd(dev, FSOCKET_IOC_LEAVE, g.fd) != ENOENT) return 12;
    fsocket_fd_arg r{g.fd, 1};
    if (ioctl(dev, FSOCKET_IOC_LEAVE, &r) != -1 || errno != EINVAL) return 13;
    if (FdCmd(dev, FSOCKET_IOC_SHUTDOWN_LISTEN, plain) != EINVAL) return 14;
    // After all that, a good JOIN works.
    int cpu = -1;
    if (Join(dev, g.fd, l2, -1, &cpu) != 0 || cpu != OnlineCpus()[0]) return 15;
    if (Join(dev, g.fd, l2, -1) != EEXIST) return 16;       // twice
    return 0;
  });
  EXPECT_EQ(rc, 0);
  close(dev);
}

// A JOIN whose result cannot be copied back (read-only argument): EFAULT,
// and the slot is given back.
TEST(ListenSpawn, FailedCopyOutUndoesTheJoin) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int cpu = OnlineCpus().back();
  int rc = RunChild([&] {
    if (!PinSelf(cpu)) return 1;
    int lfd = LocalFor(g);
    void* ro = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    *static_cast<fsocket_join_arg*>(ro) = fsocket_join_arg{g.fd, lfd, -1, 0};
    if (mprotect(ro, 4096, PROT_READ) != 0) return 2;
    errno = 0;
    if (ioctl(dev, FSOCKET_IOC_JOIN, ro) != -1 || errno != EFAULT) return 3;
    int got = -1;
    if (Join(dev, g.fd, lfd, -1, &got) != 0 || got != cpu) return 4;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "3: not EFAULT, 4: slot not given back";
  close(g.fd);
  close(dev);
}

// ---- steering and slots ------------------------------------------------------

TEST_P(Family, JoinSteersTheCpuToTheLocalListener) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(2);
  int family = GetParam();
  int dev = OpenDev();
  Group g = MakeGroup(dev, family);
  int rc = RunChild([&] {
    auto before = AllowedCpus();
    int lfd = LocalFor(g);
    int cpu = -1;
    if (int e = Join(dev, g.fd, lfd, -1, &cpu)) return 10 + e;
    if (AllowedCpus() != before) return 2;  // the module never pins
    if (!PinSelf(cpu)) return 3;
    int c1 = ConnectFromCpu(family, g.port, cpu);
    int conn = -1;
    if (c1 < 0 || WhichAccepts({g.fd, lfd}, &conn) != 1) return 4;
    if (IncomingCpu(conn) != cpu) return 5;
    close(conn);
    int other = -1;
    for (int c : OnlineCpus())
      if (c != cpu) other = c;
    int c2 = ConnectFromCpu(family, g.port, other);
    if (c2 < 0 || WhichAccepts({g.fd, lfd}, &conn) != 0) return 6;
    close(conn);
    // The CPU's slot is taken: another listener gets EEXIST for it.
    int l2 = LocalFor(g);
    if (Join(dev, g.fd, l2, cpu) != EEXIST) return 7;
    close(c1);
    close(c2);
    return 0;
  });
  EXPECT_EQ(rc, 0) << "1x: JOIN errno + 10, 2: affinity changed, 4/5: local, 6: global";
  close(g.fd);
  close(dev);
}

// Backpressure (issue 10): a worker that keeps its listener joined but stops
// accepting hands its CPU back within about 1 s; the CPU's connections then
// reach the registered listener (the other workers), and so does what was
// queued on the stalled listener (plain Linux queued it on the shared
// listener).  When the worker says it accepts again (JOIN of the same
// listener: EEXIST), its CPU comes back.  Before stall.c, the second
// connection also waited on the stalled listener (step 4); before the move,
// the first one stayed there (step 5).
TEST(ListenSpawn, StalledWorkerHandsItsCpuBack) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(2);
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  unsigned long long stalled0 = StatTotal("stalled"), resumed0 = StatTotal("resumed");
  int rc = RunChild([&] {
    int lfd = LocalFor(g);
    int cpu = -1;
    if (int e = Join(dev, g.fd, lfd, -1, &cpu)) return 10 + e;
    // One connection queued on the local listener; nobody accepts it.
    int c1 = ConnectFromCpu(AF_INET, g.port, cpu);
    struct pollfd p = {lfd, POLLIN, 0};
    if (c1 < 0 || poll(&p, 1, 2000) != 1) return 2;
    usleep(1600 * 1000);  // > 1 s without progress, plus one check period
    int c2 = ConnectFromCpu(AF_INET, g.port, cpu);
    if (c2 < 0) return 3;
    int conn = AcceptWait(g.fd, 2000);
    if (conn < 0) return 4;  // still sent to the stalled listener
    close(conn);
    // The queued one moved to the registered listener too.
    conn = AcceptWait(g.fd, 2000);
    if (conn < 0) return 5;
    close(conn);
    if ((conn = AcceptWait(lfd, 100)) >= 0) {
      close(conn);
      return 7;  // left on the stalled listener
    }
    // Still stalled: the next one goes to the registered listener as well.
    int c3 = ConnectFromCpu(AF_INET, g.port, cpu);
    if (c3 < 0 || WhichAccepts({g.fd, lfd}, &conn) != 0) return 8;
    close(conn);
    // The worker says it accepts again: its CPU comes back at once.
    if (Join(dev, g.fd, lfd, cpu) != EEXIST) return 9;
    int c4 = ConnectFromCpu(AF_INET, g.port, cpu);
    if (c4 < 0 || WhichAccepts({g.fd, lfd}, &conn) != 1) return 6;
    close(conn);
    close(c1);
    close(c2);
    close(c3);
    close(c4);
    close(lfd);
    return 0;
  });
  EXPECT_EQ(rc, 0) << "1x: JOIN errno + 10, 2: not queued locally, 4: not handed back, "
                      "5: queued connection not moved, 7: left on the stalled listener, "
                      "8: CPU came back without the worker, 9: re-JOIN, "
                      "6: CPU not taken back";
  EXPECT_GE(StatTotal("stalled"), stalled0 + 1);
  EXPECT_GE(StatTotal("resumed"), resumed0 + 1);
  close(g.fd);
  close(dev);
}

TEST(ListenSpawn, Mode1NeedsAPinnedThread) {
  REQUIRE_MODE(1);
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  auto online = OnlineCpus();
  int rc = RunChild([&] {
    int lfd = LocalFor(g);
    if (online.size() > 1) {
      if (!AllowCpus(online)) return 1;
      if (Join(dev, g.fd, lfd, -1) != EINVAL) return 2;
    }
    int cpu = online.back();
    if (!PinSelf(cpu)) return 3;
    int got = -1;
    if (Join(dev, g.fd, lfd, -1, &got) != 0 || got != cpu) return 4;
    // Another thread pinned to the same CPU: the slot is taken.
    int r2 = RunChild([&] {
      int l2 = LocalFor(g);
      return Join(dev, g.fd, l2, -1) == EEXIST ? 0 : 1;
    });
    return r2 ? 5 : 0;
  });
  EXPECT_EQ(rc, 0);
  close(g.fd);
  close(dev);
}

// Issue 9: a SPAWN that failed after pinning left the task pinned.  The
// module never changes affinity: not on success, not on any failure.
TEST(ListenSpawn, AffinityUnchangedByAnyJoin) {
  REQUIRE_MODE(2);
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  auto online = OnlineCpus();
  unsigned long long fb0 = StatTotal("fallback");
  std::vector<Worker> ws;
  std::vector<int> cpus;
  for (size_t i = 0; i < online.size(); i++) {
    ws.push_back(StartWorker(dev, g, {}, -1, false));
    EXPECT_EQ(ws.back().err, 0) << strerror(ws.back().err);
    cpus.push_back(ws.back().cpu);
  }
  std::sort(cpus.begin(), cpus.end());
  EXPECT_EQ(cpus, online) << "one slot per CPU";
  int rc = RunChild([&] {
    auto before = AllowedCpus();
    int lfd = LocalFor(g);
    if (Join(dev, g.fd, lfd, -1) != EBUSY) return 1;        // no free CPU
    if (AllowedCpus() != before) return 2;
    if (Join(dev, g.fd, lfd, online[0]) != EEXIST) return 3;
    if (AllowedCpus() != before) return 4;
    if (Join(dev, g.fd, lfd, 100000) != EINVAL) return 5;
    if (AllowedCpus() != before) return 6;
    // Still served by the registered listener.
    int c = ConnectLoopback(AF_INET, g.port);
    return c >= 0 ? 0 : 7;
  });
  EXPECT_EQ(rc, 0) << "even numbers: affinity changed by a failed JOIN";
  EXPECT_GE(StatTotal("fallback"), fb0 + 1);
  for (auto& w : ws) StopWorker(w);
  close(g.fd);
  close(dev);
}

TEST(ListenSpawn, Mode2UsesOnlyTheAllowedCpus) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(4);
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  std::vector<Worker> ws;
  std::vector<int> got;
  for (int i = 0; i < 2; i++) {
    ws.push_back(StartWorker(dev, g, {1, 3}, -1, false));
    EXPECT_EQ(ws.back().err, 0) << strerror(ws.back().err);
    got.push_back(ws.back().cpu);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{1, 3}));
  Worker third = StartWorker(dev, g, {1, 3}, -1, false);
  EXPECT_EQ(third.err, EBUSY) << "CPUs 0 and 2 are free but not allowed";
  StopWorker(third);
  Worker fourth = StartWorker(dev, g, {1, 3}, 2, false);
  EXPECT_EQ(fourth.err, EINVAL);
  StopWorker(fourth);
  for (auto& w : ws) StopWorker(w);
  close(g.fd);
  close(dev);
}

TEST(ListenSpawn, SlotFreedWhenTheWorkerDies) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int cpu = OnlineCpus().back();
  for (int round = 0; round < 3; round++) {
    // Each worker gets the CPU only if the previous one's slot was freed
    // when it died (no LEAVE; JOIN re-checks at once).
    Worker w = StartWorker(dev, g, {cpu}, -1, false);
    EXPECT_EQ(w.err, 0) << "round " << round << ": " << strerror(w.err);
    EXPECT_EQ(w.cpu, cpu);
    KillWorker(w);
  }
  close(g.fd);
  close(dev);
}

TEST(ListenSpawn, LeaveFreesTheSlot) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int cpu = OnlineCpus().back();
  int rc = RunChild([&] {
    if (!PinSelf(cpu)) return 1;
    int lfd = LocalFor(g);
    if (Join(dev, g.fd, lfd, -1) != 0) return 2;
    if (FdCmd(dev, FSOCKET_IOC_LEAVE, g.fd) != 0) return 3;   // by the group
    if (!Listening(lfd)) return 4;  // the caller's socket is untouched
    if (FdCmd(dev, FSOCKET_IOC_LEAVE, g.fd) != ENOENT) return 5;
    if (Join(dev, g.fd, lfd, -1) != 0) return 6;
    if (FdCmd(dev, FSOCKET_IOC_LEAVE, lfd) != 0) return 7;    // by local_fd
    // The CPU goes to the registered listener; the slot is free.
    int conn = -1;
    int c = ConnectFromCpu(AF_INET, g.port, cpu);
    if (c < 0 || WhichAccepts({g.fd, lfd}, &conn) != 0) return 8;
    close(conn);
    return Join(dev, g.fd, lfd, -1) == 0 ? 0 : 9;
  });
  EXPECT_EQ(rc, 0);
  close(g.fd);
  close(dev);
}

TEST(ListenSpawn, ShutdownListenUnregisters) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int rc = RunChild([&] {
    PinSelf(OnlineCpus()[0]);
    int lfd = LocalFor(g);
    if (Join(dev, g.fd, lfd, -1) != 0) return 1;
    if (FdCmd(dev, FSOCKET_IOC_SHUTDOWN_LISTEN, g.fd) != 0) return 2;
    if (!ViewLine(g.port).empty()) return 3;
    if (Join(dev, g.fd, lfd, -1) != EINVAL) return 4;
    if (FdCmd(dev, FSOCKET_IOC_SHUTDOWN_LISTEN, g.fd) != EINVAL) return 5;
    // Plain SO_REUSEPORT now: every connection reaches one of the two.
    for (int i = 0; i < 10; i++) {
      int conn = -1;
      int c = ConnectLoopback(AF_INET, g.port);
      if (c < 0 || WhichAccepts({g.fd, lfd}, &conn) < 0) return 6;
      close(conn);
      close(c);
    }
    // And it can be registered again.
    fsocket_listen_arg la{g.fd, 0};
    return ioctl(dev, FSOCKET_IOC_LISTEN, &la) == 0 ? 0 : 7;
  });
  EXPECT_EQ(rc, 0);
  close(g.fd);
  close(dev);
}

TEST(ListenSpawn, GroupRemovedWhenTheRegisteredListenerCloses) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int lfd = LocalFor(g);
  int rc = RunChild([&] {
    PinSelf(OnlineCpus()[0]);
    return Join(dev, g.fd, lfd, -1);
  });
  ASSERT_EQ(rc, 0);
  ASSERT_FALSE(ViewLine(g.port).empty());
  close(g.fd);
  bool gone = false;
  for (int i = 0; i < 200 && !gone; i++) {
    gone = ViewLine(g.port).empty();
    if (!gone) usleep(10000);
  }
  EXPECT_TRUE(gone) << "the group outlived its registered listener";
  // The program went with it: connections from every CPU reach lfd.
  for (int cpu : OnlineCpus()) {
    int c = ConnectFromCpu(AF_INET, g.port, cpu);
    int s = AcceptWait(lfd);
    EXPECT_GE(s, 0) << "cpu " << cpu;
    close(s);
    close(c);
  }
  close(lfd);
  close(dev);
}

// ---- issue 9: limits and policy are the caller's -------------------------------

// listen(fd, -1) gives net.core.somaxconn: the module never listens for the
// caller, and TCP_INFO on a listener reports the maximum in tcpi_sacked.
TEST(Security, SomaxconnHonoured) {
  REQUIRE_ON();
  std::string old = Trim(ReadFile("/proc/sys/net/core/somaxconn"));
  WriteFile("/proc/sys/net/core/somaxconn", "77");
  int dev = OpenDev();
  int port = 0;
  int gfd = ReuseportListener(AF_INET, &port, -1);
  ASSERT_GE(gfd, 0);
  fsocket_listen_arg la{gfd, 0};
  ASSERT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &la), 0);
  int lp = port;
  int lfd = ReuseportListener(AF_INET, &lp, -1);
  int rc = RunChild([&] {
    PinSelf(OnlineCpus()[0]);
    return Join(dev, gfd, lfd, -1);
  });
  EXPECT_EQ(rc, 0);
  for (int fd : {gfd, lfd}) {
    tcp_info ti{};
    socklen_t len = sizeof(ti);
    ASSERT_EQ(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
    EXPECT_EQ(ti.tcpi_sacked, 77u) << "a listener made with listen(-1) must get somaxconn";
  }
  EXPECT_EQ(ViewLine(port)["backlog"], "77");
  WriteFile("/proc/sys/net/core/somaxconn", old);
  close(lfd);
  close(gfd);
  close(dev);
}

// The uid of every socket the process holds from fd `first` on (st_uid of
// the socket inode).
std::vector<uid_t> SocketOwners(int first) {
  std::vector<uid_t> out;
  for (int fd = first; fd < 1024; fd++) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) out.push_back(st.st_uid);
  }
  return out;
}

// A uid-65534 worker holding a root-made registered listener never obtains
// a root-owned socket: everything it can JOIN it made itself, as itself,
// and the kernel's bind() rules decide what that can be.
TEST(Security, NobodyNeverGetsARootSocket) {
  REQUIRE_ON();
  int dev = OpenDev();
  for (int port : {81, 0}) {
    // Root registers a listener (a privileged port, then an ordinary one).
    int gfd = ReuseportListener(AF_INET, &port);
    ASSERT_GE(gfd, 0) << strerror(errno);
    fsocket_listen_arg la{gfd, 0};
    ASSERT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &la), 0);
    int rc = RunChild([&] {
      int first = dup(0);
      close(first);
      if (setgid(65534) != 0 || setuid(65534) != 0) return 1;
      // The kernel refuses nobody a socket in root's SO_REUSEPORT group.
      int p = port;
      int lfd = ReuseportListener(AF_INET, &p);
      if (lfd >= 0) return 2;
      // What nobody can make (another port) the module refuses.
      int op = 0;
      int other = ReuseportListener(AF_INET, &op);
      if (other < 0) return 3;
      if (Join(dev, gfd, other, -1) != EINVAL) return 4;
      for (uid_t u : SocketOwners(first)) {
        if (u != 65534) return 5;
      }
      // And the registered listener still serves it.
      int c = ConnectLoopback(AF_INET, port);
      int s = AcceptWait(gfd);
      return c >= 0 && s >= 0 ? 0 : 6;
    });
    EXPECT_EQ(rc, 0) << "port " << port
                     << ": 2: joined root's group, 4: JOIN of another port, 5: root-owned socket";
    close(gfd);
  }
  close(dev);
}

// A local_fd from another network namespace is refused (it cannot be in the
// registered listener's SO_REUSEPORT group).
TEST(Security, LocalListenerOfAnotherNetnsRefused) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int rc = RunChild([&] {
    int home = open("/proc/self/ns/net", O_RDONLY);
    if (unshare(CLONE_NEWNET) != 0) return 1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr {};
    strcpy(ifr.ifr_name, "lo");
    ifr.ifr_flags = IFF_UP | IFF_RUNNING;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) return 2;
    int lfd = LocalFor(g);
    if (lfd < 0) return 3;
    if (setns(home, CLONE_NEWNET) != 0) return 4;
    PinSelf(OnlineCpus()[0]);
    if (Join(dev, g.fd, lfd, -1) != EINVAL) return 5;
    // ... nor can it be registered into the group from here.
    return ViewLine(g.port)["cpus"] == "-" ? 0 : 6;
  });
  EXPECT_EQ(rc, 0) << "5: JOIN accepted a listener of another netns";
  close(g.fd);
  close(dev);
}

// With RLIMIT_NOFILE exhausted the connection stays queued (accept4 gives
// EMFILE), the client sees no reset, and a later accept gets it.  There is
// no ACCEPT command any more: the module never takes a connection off a
// queue.
TEST(Security, EmfileKeepsTheConnection) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int rc = RunChild([&] {
    int cpu = OnlineCpus()[0];
    PinSelf(cpu);
    int lfd = LocalFor(g);
    if (Join(dev, g.fd, lfd, -1) != 0) return 1;
    int c = ConnectLoopback(AF_INET, g.port);
    if (c < 0) return 2;
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, 2000) != 1) return 3;
    int maxfd = dup(0);
    close(maxfd);
    struct rlimit rl{(rlim_t)maxfd, (rlim_t)maxfd};
    struct rlimit old;
    getrlimit(RLIMIT_NOFILE, &old);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return 4;
    if (accept4(lfd, nullptr, nullptr, 0) != -1 || errno != EMFILE) return 5;
    char v1[32] = {};
    if (ioctl(dev, _IOWR(FSOCKET_IOC_MAGIC, 0x04, char[32]), v1) != -1 || errno != ENOTTY)
      return 6;
    if (setrlimit(RLIMIT_NOFILE, &old) != 0) return 7;
    // The client was not reset ...
    struct pollfd cp = {c, POLLIN, 0};
    if (poll(&cp, 1, 100) != 0) return 8;
    // ... and the connection is still there and works.
    int s = accept4(lfd, nullptr, nullptr, 0);
    if (s < 0) return 9;
    if (write(c, "x", 1) != 1) return 10;
    char b;
    return read(s, &b, 1) == 1 && b == 'x' ? 0 : 11;
  });
  EXPECT_EQ(rc, 0) << "5: no EMFILE, 8: client reset or data, 9: connection lost";
  close(g.fd);
  close(dev);
}

// A worker whose local listener is close-on-exec execs: its slot is free at
// once (a new worker can JOIN that CPU), and the CPU's connections go to
// the registered listener in between.
TEST(Security, ExecReleasesTheSlot) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int cpu = OnlineCpus().back();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    PinSelf(cpu);
    int lfd = LocalFor(g);  // SOCK_CLOEXEC
    if (Join(dev, g.fd, lfd, -1) != 0) _exit(3);
    if (lfd == 9) _exit(5);
    dup2(ready[1], 9);
    // The new image reports once it runs: the exec is complete.
    execl("/bin/sh", "sh", "-c", "echo x >&9; exec sleep 30", (char*)nullptr);
    _exit(4);
  }
  close(ready[1]);
  char b;
  ASSERT_EQ(read(ready[0], &b, 1), 1) << "the worker did not exec";
  close(ready[0]);
  // At once: a new worker can JOIN that CPU.
  Worker w = StartWorker(dev, g, {cpu}, -1, false);
  EXPECT_EQ(w.err, 0) << "the exec'd worker still holds cpu " << cpu << ": " << strerror(w.err);
  StopWorker(w);
  // In between, that CPU's connections reach the registered listener.
  EXPECT_TRUE(WaitViewCpus(g.port, "-"));
  int c = ConnectFromCpu(AF_INET, g.port, cpu);
  int s = AcceptWait(g.fd);
  EXPECT_GE(s, 0) << "a connection on cpu " << cpu << " was not queued on the registered listener";
  close(s);
  close(c);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  close(g.fd);
  close(dev);
}

// SO_ATTACH_REUSEPORT_CBPF "return index 1".
int AttachRet1(int fd) {
  struct sock_filter code[] = {{BPF_RET | BPF_K, 0, 0, 1}};
  struct sock_fprog prog = {1, code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

// The module never replaces a reuseport program it did not attach.
TEST(Security, ApplicationReuseportProgramKept) {
  REQUIRE_ON();
  int dev = OpenDev();
  // Two listeners a (index 0) and b (index 1) of one SO_REUSEPORT group.
  int port = 0, a = -1, b = -1;
  auto new_pair = [&] {
    port = 0;
    a = ReuseportListener(AF_INET, &port);
    int bp = port;
    b = ReuseportListener(AF_INET, &bp);
  };
  auto listen_errno = [&](int fd) {
    fsocket_listen_arg la{fd, 0};
    return ioctl(dev, FSOCKET_IOC_LISTEN, &la) == 0 ? 0 : errno;
  };
  auto all_to_b = [&] {
    for (int i = 0; i < 10; i++) {
      int conn = -1;
      int c = ConnectLoopback(AF_INET, port);
      int which = WhichAccepts({a, b}, &conn);
      close(conn);
      close(c);
      if (which != 1) return false;
    }
    return true;
  };

  new_pair();
  ASSERT_EQ(AttachRet1(a), 0) << strerror(errno);
  EXPECT_EQ(listen_errno(a), EBUSY);
  EXPECT_TRUE(all_to_b()) << "the application's program no longer decides";
  close(a);
  close(b);

  // Registered first, then the application attaches its own: the module
  // stops steering that group and never puts its program back.
  new_pair();
  ASSERT_EQ(listen_errno(a), 0);
  ASSERT_EQ(AttachRet1(b), 0);
  int rc = RunChild([&] {
    PinSelf(OnlineCpus()[0]);
    return Join(dev, a, b, -1);
  });
  EXPECT_EQ(rc, EBUSY);
  EXPECT_EQ(ViewLine(port)["steering"], "foreign");
  EXPECT_TRUE(all_to_b());
  close(a);
  close(b);

  // nginx "listen ... reuseport": one socket per worker in one group; only
  // one of them can be registered.
  new_pair();
  ASSERT_EQ(listen_errno(a), 0);
  EXPECT_EQ(listen_errno(b), EBUSY);
  close(a);
  close(b);
  close(dev);
}

// One user cannot register more than FSOCKET_MAX_GROUPS_PER_USER groups in a
// namespace; closing one makes room again.
TEST(Security, GroupLimitPerUser) {
  REQUIRE_ON();
  int dev = OpenDev();
  int rc = RunChild([&] {
    if (setgid(65534) != 0 || setuid(65534) != 0) return 1;
    std::vector<int> fds;
    for (int i = 0; i <= FSOCKET_MAX_GROUPS_PER_USER; i++) {
      int port = 0;
      int fd = ReuseportListener(AF_INET, &port);
      if (fd < 0) return 2;
      fds.push_back(fd);
      fsocket_listen_arg la{fd, 0};
      int r = ioctl(dev, FSOCKET_IOC_LISTEN, &la) == 0 ? 0 : errno;
      if (i < FSOCKET_MAX_GROUPS_PER_USER && r != 0) return 3;
      if (i == FSOCKET_MAX_GROUPS_PER_USER && r != ENOSPC) return 4;
    }
    close(fds[0]);
    // The close is seen at once; the next LISTEN may race the re-check.
    fsocket_listen_arg la{fds.back(), 0};
    for (int i = 0; i < 100; i++) {
      if (ioctl(dev, FSOCKET_IOC_LISTEN, &la) == 0) return 0;
      usleep(10000);
    }
    return 5;
  });
  EXPECT_EQ(rc, 0) << "3: refused below the limit, 4: no ENOSPC at the limit, 5: no room after a close";
  close(dev);
}

// Writing 0 to enable_listen_spawn under load: every group back to plain
// SO_REUSEPORT at once, no connection fails; 2 allows LISTEN again.
TEST(Security, OffSwitchUnderLoad) {
  REQUIRE_ON();
  REQUIRE_CPUS(2);
  int mode = Mode();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  auto online = OnlineCpus();
  std::vector<Worker> ws;
  for (int cpu : online) {
    ws.push_back(StartWorker(dev, g, {cpu}, -1, true));
    ASSERT_EQ(ws.back().err, 0);
  }
  std::atomic<bool> stop{false};
  std::atomic<int> made{0}, failed{0};
  std::vector<std::thread> clients;
  std::vector<std::vector<int>> fds(online.size());
  for (size_t i = 0; i < online.size(); i++) {
    clients.emplace_back([&, i] {
      PinSelf(online[i]);
      while (!stop) {
        int c = ConnectLoopback(AF_INET, g.port);
        if (c < 0) {
          failed++;
        } else {
          made++;
          fds[i].push_back(c);
        }
        usleep(2000);
      }
    });
  }
  usleep(200 * 1000);
  WriteFile("/sys/module/fastsocket/parameters/enable_listen_spawn", "0");
  bool gone = ViewLine(g.port).empty();
  int port = 0;
  int probe = ReuseportListener(AF_INET, &port);
  fsocket_listen_arg la{probe, 0};
  errno = 0;
  bool refused = ioctl(dev, FSOCKET_IOC_LISTEN, &la) == -1 && errno == EOPNOTSUPP;
  usleep(200 * 1000);
  WriteFile("/sys/module/fastsocket/parameters/enable_listen_spawn", std::to_string(mode));
  bool again = ioctl(dev, FSOCKET_IOC_LISTEN, &la) == 0;
  usleep(200 * 1000);
  stop = true;
  for (auto& t : clients) t.join();
  auto recs = Collect(ws, made.load());
  printf("off switch: %d connections, %d failed, %zu accepted\n", made.load(), failed.load(),
         recs.size());
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(recs.size(), (size_t)made.load()) << "connections lost";
  EXPECT_TRUE(gone) << "groups still listed after writing 0";
  EXPECT_TRUE(refused) << "LISTEN allowed while off";
  EXPECT_TRUE(again) << "LISTEN refused after turning it on again";
  for (auto& v : fds)
    for (int c : v) close(c);
  for (auto& w : ws) StopWorker(w);
  close(probe);
  close(g.fd);
  close(dev);
}

// ---- /proc/fastsocket/listeners and statistics ----------------------------------

TEST(View, ListenersFormat) {
  REQUIRE_ON();
  struct stat st;
  ASSERT_EQ(stat(FSOCKET_LISTENERS_PATH, &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0400u);
  std::string text = ReadFile(FSOCKET_LISTENERS_PATH);
  EXPECT_EQ(text.rfind("# fastsocket listeners v1\n", 0), 0u) << text;
  int dev = OpenDev();
  Group g4 = MakeGroup(dev, AF_INET);
  Group g6 = MakeGroup(dev, AF_INET6);
  int cpu = OnlineCpus().back();
  Worker w = StartWorker(dev, g4, {cpu}, -1, true);
  ASSERT_EQ(w.err, 0);
  for (int i = 0; i < 5; i++) close(ConnectFromCpu(AF_INET, g4.port, cpu));
  std::vector<Worker> one{w};
  ASSERT_EQ(Collect(one, 5).size(), 5u);
  struct stat ns;
  ASSERT_EQ(stat("/proc/self/ns/net", &ns), 0);
  auto v4 = ViewLine(g4.port);
  EXPECT_EQ(v4["netns"], std::to_string(ns.st_ino));
  EXPECT_EQ(v4["addr"], "127.0.0.1:" + std::to_string(g4.port));
  EXPECT_NE(v4["pids"].find(std::to_string(getpid())), std::string::npos) << v4["pids"];
  EXPECT_NE(v4["pids"].find(std::to_string(w.pid)), std::string::npos) << v4["pids"];
  EXPECT_EQ(v4["backlog"], "128");
  EXPECT_EQ(v4["queued"], "0");
  EXPECT_EQ(v4["cpus"], std::to_string(cpu));
  EXPECT_EQ(v4["cpu" + std::to_string(cpu)], "5");
  EXPECT_EQ(v4["local"], "5");
  EXPECT_EQ(v4["remote"], "0");
  EXPECT_EQ(v4["steering"], "on");
  auto v6 = ViewLine(g6.port);
  EXPECT_EQ(v6["addr"], "[::1]:" + std::to_string(g6.port));
  EXPECT_EQ(v6["cpus"], "-");
  // Only root reads it.
  int rc = RunChild([] {
    if (setgid(65534) != 0 || setuid(65534) != 0) return 1;
    return open(FSOCKET_LISTENERS_PATH, O_RDONLY) < 0 && errno == EACCES ? 0 : 2;
  });
  EXPECT_EQ(rc, 0);
  StopWorker(w);
  close(g4.fd);
  close(g6.fd);
  close(dev);
}

// Statistics belong to a network namespace.
TEST(View, StatsPerNetns) {
  REQUIRE_ON();
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  int c = ConnectLoopback(AF_INET, g.port);
  close(AcceptWait(g.fd));
  close(c);
  EXPECT_GE(StatTotal("global_accept"), 1u);
  int rc = RunChild([] {
    if (unshare(CLONE_NEWNET) != 0) return 1;
    for (const char* col : {"local_accept", "global_accept", "spawn"})
      if (StatTotal(col) != 0) return 2;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "another namespace sees this one's counters";
  close(g.fd);
  close(dev);
}

// ---- connections queued on a listener that closes ---------------------------------

// A worker dies with connections queued on its local listener: they are
// counted as migrated (net.ipv4.tcp_migrate_req=1, 5.14+: the kernel moves
// them to the registered listener) or dropped (reset by the close, as
// without the module).
TEST(ListenSpawn, QueuedConnectionsOfADeadWorker) {
  REQUIRE_ON();
  int dev = OpenDev();
  const char* sysctl = "/proc/sys/net/ipv4/tcp_migrate_req";
  struct utsname u;
  uname(&u);
  int major = 0, minor = 0;
  sscanf(u.release, "%d.%d", &major, &minor);
  bool can_migrate = access(sysctl, W_OK) == 0 && major * 100 + minor >= 514;
  for (int migrate : {0, 1}) {
    if (migrate && !can_migrate) {
      printf("kernel %s: no request migration (5.14+), not tested\n", u.release);
      break;
    }
    if (access(sysctl, W_OK) == 0) WriteFile(sysctl, migrate ? "1" : "0");
    Group g = MakeGroup(dev, AF_INET);
    int cpu = OnlineCpus().back();
    unsigned long long m0 = StatTotal("migrated"), d0 = StatTotal("dropped");
    Worker w = StartWorker(dev, g, {cpu}, -1, false);
    ASSERT_EQ(w.err, 0) << strerror(w.err);
    std::vector<int> clients;
    for (int i = 0; i < 3; i++) clients.push_back(ConnectFromCpu(AF_INET, g.port, cpu));
    usleep(100 * 1000);
    KillWorker(w);
    if (migrate) {
      EXPECT_EQ(StatTotal("migrated"), m0 + 3);
      int got = 0;
      for (int i = 0; i < 3; i++) {
        int s = AcceptWait(g.fd);
        if (s >= 0) got++;
        close(s);
      }
      EXPECT_EQ(got, 3) << "migrated connections reach the registered listener";
    } else {
      EXPECT_EQ(StatTotal("dropped"), d0 + 3);
    }
    for (int c : clients) close(c);
    close(g.fd);
  }
  if (access(sysctl, W_OK) == 0) WriteFile(sysctl, "0");
  close(dev);
}

// Races: workers JOIN, accept, LEAVE and close in a loop while clients
// connect on every CPU and one worker is killed.  Every connection is
// accepted or counted as dropped/migrated, and the kernel stays quiet (the
// suite checks dmesg).
TEST(ListenSpawn, ConcurrentJoinLeaveCloseAndDeath) {
  REQUIRE_ON();
  REQUIRE_CPUS(2);
  int dev = OpenDev();
  Group g = MakeGroup(dev, AF_INET);
  auto online = OnlineCpus();
  unsigned long long lost0 = StatTotal("dropped") + StatTotal("migrated");
  int rp[2];
  ASSERT_EQ(pipe2(rp, O_CLOEXEC), 0);
  auto start_churner = [&](int cpu) {
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      PinSelf(cpu);
      auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
      while (std::chrono::steady_clock::now() < end) {
        int lfd = LocalFor(g);
        bool joined = Join(dev, g.fd, lfd, -1) == 0;
        for (int k = 0; k < 30; k++) {
          int conn = -1;
          if (WhichAccepts({g.fd, lfd}, &conn, 1) >= 0) {
            close(conn);
            (void)!write(rp[1], "a", 1);
          }
        }
        if (joined) FdCmd(dev, FSOCKET_IOC_LEAVE, lfd);
        // Drain what was queued before the LEAVE, then close.
        int conn = -1;
        while (WhichAccepts({lfd}, &conn, 0) >= 0) {
          close(conn);
          (void)!write(rp[1], "a", 1);
        }
        close(lfd);
      }
      _exit(0);
    }
    return pid;
  };
  std::vector<pid_t> pids;
  for (int cpu : online) pids.push_back(start_churner(cpu));
  Worker victim = StartWorker(dev, g, {online[0]}, -1, false);
  std::atomic<int> made{0};
  std::vector<std::thread> clients;
  std::vector<std::vector<int>> fds(online.size());
  for (size_t i = 0; i < online.size(); i++) {
    clients.emplace_back([&, i] {
      PinSelf(online[i]);
      for (int k = 0; k < 60; k++) {
        int c = ConnectWithin(AF_INET, g.port, 3000);
        if (c >= 0) {
          made++;
          fds[i].push_back(c);
        }
        usleep(5000);
      }
    });
  }
  usleep(300 * 1000);
  if (victim.pid > 0) KillWorker(victim);
  for (auto& t : clients) t.join();
  for (pid_t p : pids) waitpid(p, nullptr, 0);
  close(rp[1]);
  int accepted = 0;
  char buf[256];
  ssize_t n;
  while ((n = read(rp[0], buf, sizeof(buf))) > 0) accepted += n;
  close(rp[0]);
  int conn = -1;
  while (WhichAccepts({g.fd}, &conn, 0) >= 0) {
    close(conn);
    accepted++;
  }
  unsigned long long lost = StatTotal("dropped") + StatTotal("migrated") - lost0;
  printf("races: %d connections, %d accepted, %llu dropped or migrated\n", made.load(), accepted,
         lost);
  EXPECT_GT(made.load(), 0);
  EXPECT_GE(accepted + (long long)lost, made.load() * 95 / 100);
  for (auto& v : fds)
    for (int c : v) close(c);
  close(g.fd);
  close(dev);
}

// Workers pinned one per CPU, clients pinned one per CPU: every connection
// is processed on the CPU that ran its SYN, and stays so after a worker
// dies (the kernel reorders the reuseport group then).
TEST_P(Family, LocalityAndGroupOrderAfterAWorkerDies) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(2);
  int family = GetParam();
  int dev = OpenDev();
  Group g = MakeGroup(dev, family);
  auto online = OnlineCpus();
  if (online.size() > 4) online.resize(4);
  std::vector<Worker> ws;
  for (int cpu : online) {
    ws.push_back(StartWorker(dev, g, {}, cpu));
    ASSERT_EQ(ws.back().err, 0) << strerror(ws.back().err);
    ASSERT_EQ(ws.back().cpu, cpu);
  }
  const int per_cpu = 150;
  std::vector<int> clients;
  auto run_clients = [&](const std::vector<int>& cpus, int n) {
    std::vector<std::thread> ts;
    std::vector<std::vector<int>> fds(cpus.size());
    for (size_t i = 0; i < cpus.size(); i++) {
      ts.emplace_back([&, i] {
        PinSelf(cpus[i]);
        for (int k = 0; k < n; k++) {
          int c = ConnectLoopback(family, g.port);
          if (c >= 0) fds[i].push_back(c);
        }
      });
    }
    for (auto& t : ts) t.join();
    size_t total = 0;
    for (auto& v : fds) {
      total += v.size();
      for (int c : v) clients.push_back(c);
    }
    return total;
  };
  size_t made = run_clients(online, per_cpu);
  EXPECT_EQ(made, online.size() * per_cpu);
  auto recs = Collect(ws, made);
  ASSERT_EQ(recs.size(), made);
  size_t local = 0, same_cpu = 0;
  for (const Rec& r : recs) {
    if (r.b == 1 && r.a == r.c) local++;
    if (r.c == r.d) same_cpu++;
  }
  double locality = 100.0 * same_cpu / recs.size();
  printf("locality %s: %zu/%zu = %.2f%% processed on the SYN's CPU, %zu on its local listener\n",
         family == AF_INET6 ? "IPv6" : "IPv4", same_cpu, recs.size(), locality, local);
  EXPECT_GE(locality, 99.0);
  EXPECT_GE(100.0 * local / recs.size(), 99.0);
  auto view = ViewLine(g.port);
  EXPECT_GE(strtoull(view["local"].c_str(), nullptr, 10), local) << "the view's locality counter";
  for (int c : clients) close(c);
  clients.clear();

  // The first local listener dies (the kernel moves the last one into its
  // place in the group); the others must keep their CPUs, the dead one's
  // CPU goes to the registered listener.
  KillWorker(ws[0]);
  std::string rest_cpus;
  for (size_t i = 1; i < online.size(); i++)
    rest_cpus += (rest_cpus.empty() ? "" : ",") + std::to_string(online[i]);
  EXPECT_TRUE(WaitViewCpus(g.port, rest_cpus)) << ViewLine(g.port)["cpus"];
  made = run_clients(online, 20);
  recs = Collect(ws, made);
  ASSERT_EQ(recs.size(), made);
  std::map<int, int> by_syn_cpu_local, by_syn_cpu_global;
  for (const Rec& r : recs) {
    if (r.b == 1) {
      EXPECT_EQ(r.a, r.c) << "local accept on cpu " << r.a << " of a SYN on cpu " << r.c;
      by_syn_cpu_local[r.c]++;
    } else {
      by_syn_cpu_global[r.c]++;
    }
  }
  for (size_t i = 1; i < online.size(); i++)
    EXPECT_EQ(by_syn_cpu_local[online[i]], 20) << "cpu " << online[i];
  EXPECT_EQ(by_syn_cpu_global[online[0]], 20) << "the dead worker's CPU goes to the registered listener";
  for (int c : clients) close(c);
  for (auto& w : ws) StopWorker(w);
  close(g.fd);
  close(dev);
}

INSTANTIATE_TEST_SUITE_P(ListenSpawn, Family, ::testing::Values(AF_INET, AF_INET6), FamilyName);

}  // namespace
