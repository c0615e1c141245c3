// Listen spawn in the guest: SPAWN_LISTEN, SPAWN_ALL_LISTEN, ACCEPT, CLOSE,
// SHUTDOWN_LISTEN, worker CPU slots, reaping of exited workers, CPU-local
// selection (locality) for IPv4 and IPv6.
//
// Workers are forked children (a spawn pins its caller in mode 2); clients
// are threads pinned to one CPU each, so their SYN is processed there.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

#define REQUIRE_CPUS(n)                                                  \
  do {                                                                   \
    if ((int)OnlineCpus().size() < (n)) GTEST_SKIP() << "needs " << (n) << " CPUs"; \
  } while (0)

// A fastsocket listener (SO_REUSEPORT, bound to loopback, LISTEN ioctl).
struct Listener {
  int fd = -1;
  int port = 0;
  int family = AF_INET;
};

Listener MakeListener(int dev, int family) {
  Listener l;
  l.family = family;
  l.fd = BoundReuseport(family, &l.port);
  EXPECT_GE(l.fd, 0);
  fsocket_listen_arg a{l.fd, 128};
  EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), 0) << strerror(errno);
  return l;
}

struct SpawnResult {
  int rc;
  int err;
  int cpu;
  int local_fd;
};

SpawnResult Spawn(int dev, int gfd, int cpu = -1, unsigned flags = O_CLOEXEC,
                  unsigned long cmd = FSOCKET_IOC_SPAWN_LISTEN) {
  fsocket_spawn_arg a{gfd, cpu, -1, flags};
  errno = 0;
  int rc = ioctl(dev, cmd, &a);
  return {rc, rc ? errno : 0, a.cpu, a.local_fd};
}

struct AcceptResult {
  int fd = -1;
  int cpu = -2;
  int err = 0;
};

AcceptResult AcceptOnce(int dev, int gfd) {
  fsocket_accept_arg a{};
  a.fd = gfd;
  a.flags = SOCK_CLOEXEC;
  AcceptResult r;
  if (ioctl(dev, FSOCKET_IOC_ACCEPT, &a) != 0) {
    r.err = errno;
    return r;
  }
  r.fd = a.new_fd;
  r.cpu = a.cpu;
  return r;
}

// ACCEPT until a connection arrives or timeout_ms passes.
AcceptResult AcceptWait(int dev, int gfd, int timeout_ms = 3000) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    AcceptResult r = AcceptOnce(dev, gfd);
    if (r.fd >= 0 || r.err != EAGAIN || std::chrono::steady_clock::now() > end)
      return r;
    usleep(2000);
  }
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

bool Listening(int fd) {
  int v = 0;
  socklen_t len = sizeof(v);
  return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1;
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

// ---- worker processes --------------------------------------------------------

struct Rec {
  int32_t kind;  // 0 = spawn result, 1 = accepted connection
  int32_t a, b, c, d;
};

struct Worker {
  pid_t pid = -1;
  int rec = -1;   // read end: records from the worker
  int stop = -1;  // write end: closing it stops the worker
  SpawnResult spawn{};
};

// Forks a worker: restrict to `allowed` (if not empty), SPAWN on gfd, report
// the result, then ACCEPT in a loop reporting {worker cpu, accept cpu,
// incoming cpu, sched_getcpu} for each connection until told to stop.
Worker StartWorker(int dev, int gfd, std::vector<int> allowed = {},
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
    SpawnResult s = Spawn(dev, gfd, want);
    Rec r{0, s.rc, s.err, s.cpu, s.local_fd};
    if (write(rp[1], &r, sizeof(r)) != sizeof(r)) _exit(1);
    if (!accept_loop) {
      char c;
      (void)!read(sp[0], &c, 1);  // wait for stop
      _exit(0);
    }
    for (;;) {
      AcceptResult a = AcceptOnce(dev, gfd);
      if (a.fd >= 0) {
        Rec x{1, s.rc == 0 ? s.cpu : -1, a.cpu, IncomingCpu(a.fd), sched_getcpu()};
        close(a.fd);
        if (write(rp[1], &x, sizeof(x)) != sizeof(x)) _exit(1);
        continue;
      }
      struct pollfd p[3] = {{gfd, POLLIN, 0}, {sp[0], POLLIN, 0}, {-1, POLLIN, 0}};
      if (s.rc == 0) p[2].fd = s.local_fd;
      poll(p, 3, 50);
      if (p[1].revents) _exit(0);
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
  w.spawn = {r.a, r.b, r.c, r.d};
  return w;
}

void StopWorker(Worker& w) {
  if (w.pid <= 0) return;
  // A byte, not EOF: later children inherited copies of the write end.
  (void)!write(w.stop, "x", 1);
  close(w.stop);
  int st;
  waitpid(w.pid, &st, 0);
  close(w.rec);
  w.pid = -1;
}

void KillWorker(Worker& w) {
  kill(w.pid, SIGKILL);
  int st;
  waitpid(w.pid, &st, 0);
  close(w.stop);
  close(w.rec);
  w.pid = -1;
}

// Reads n connection records from the workers (timeout per record).
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

class Spawn2 : public ::testing::TestWithParam<int> {};

// ---- tests -----------------------------------------------------------------------

TEST(ListenSpawn, FeaturesFollowTheMode) {
  int dev = OpenDev();
  fsocket_version v = Version(dev);
  uint64_t spawn_bits = FSOCKET_FEAT_SPAWN_LISTEN | FSOCKET_FEAT_SPAWN_ALL_LISTEN |
                        FSOCKET_FEAT_CLOSE | FSOCKET_FEAT_SHUTDOWN_LISTEN;
  EXPECT_TRUE(v.features & FSOCKET_FEAT_ACCEPT);
  if (Mode() == 0) {
    EXPECT_EQ(v.features & spawn_bits, 0u);
    Listener l = MakeListener(dev, AF_INET);
    SpawnResult s = Spawn(dev, l.fd);
    EXPECT_EQ(s.rc, -1);
    EXPECT_EQ(s.err, EOPNOTSUPP);
    close(l.fd);
  } else {
    EXPECT_EQ(v.features & spawn_bits, spawn_bits);
  }
  close(dev);
}

TEST(ListenSpawn, RejectsBadArguments) {
  if (Mode() == 0) GTEST_SKIP() << "spawn is off";
  int dev = OpenDev();
  int port;
  int plain = BoundReuseport(AF_INET, &port);
  ASSERT_EQ(listen(plain, 8), 0);
  // Not a fastsocket listener, bad flags, bad cpu, bad fds: no slot taken.
  int rc = RunChild([&] {
    SpawnResult s = Spawn(dev, plain);
    if (!(s.rc == -1 && s.err == EINVAL)) return 1;
    Listener l = MakeListener(dev, AF_INET);
    if (Spawn(dev, l.fd, -1, 0x1).err != EINVAL) return 2;
    if (Spawn(dev, l.fd, -5).err != EINVAL) return 3;
    if (Spawn(dev, l.fd, 100000).err != EINVAL) return 4;
    if (Spawn(dev, 1 << 20).err != EBADF) return 5;
    int null_fd = open("/dev/null", O_RDONLY);
    if (Spawn(dev, null_fd).err != ENOTSOCK) return 6;
    fsocket_fd_arg c{l.fd, 0};
    if (ioctl(dev, FSOCKET_IOC_CLOSE, &c) != -1 || errno != ENOENT) return 7;
    c.reserved = 1;
    if (ioctl(dev, FSOCKET_IOC_CLOSE, &c) != -1 || errno != EINVAL) return 8;
    return 0;
  });
  EXPECT_EQ(rc, 0);
  close(plain);
  close(dev);
}

TEST_P(Spawn2, SpawnPinsAndAcceptsLocalFirst) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(2);
  int family = GetParam();
  int dev = OpenDev();
  Listener l = MakeListener(dev, family);
  unsigned long long local0 = StatTotal("local_accept");
  int rc = RunChild([&] {
    SpawnResult s = Spawn(dev, l.fd, -1, O_CLOEXEC | O_NONBLOCK);
    if (s.rc != 0) return 10 + s.err;
    auto allowed = AllowedCpus();
    if (allowed.size() != 1 || allowed[0] != s.cpu) return 2;
    if (sched_getcpu() != s.cpu) return 3;
    if (!Listening(s.local_fd)) return 4;
    if (!(fcntl(s.local_fd, F_GETFL) & O_NONBLOCK)) return 5;
    if (!(fcntl(s.local_fd, F_GETFD) & FD_CLOEXEC)) return 6;
    sockaddr_storage a, b;
    socklen_t al = sizeof(a), bl = sizeof(b);
    getsockname(s.local_fd, (sockaddr*)&a, &al);
    getsockname(l.fd, (sockaddr*)&b, &bl);
    if (al != bl || memcmp(&a, &b, al) != 0) return 7;
    // Nothing queued: EAGAIN, never blocks.
    if (AcceptOnce(dev, l.fd).err != EAGAIN) return 8;
    // Twice in the same group: EEXIST.
    if (Spawn(dev, l.fd).err != EEXIST) return 9;

    // A client on our CPU goes to the local listener ...
    int c1 = ConnectFromCpu(family, l.port, s.cpu);
    if (c1 < 0) return 30;
    AcceptResult r = AcceptWait(dev, l.fd);
    if (r.fd < 0) return 31;
    if (r.cpu != s.cpu) return 32;
    if (IncomingCpu(r.fd) != s.cpu) return 33;
    close(r.fd);
    // ... one on another CPU to the global listener.
    int other = -1;
    for (int c : OnlineCpus())
      if (c != s.cpu) other = c;
    int c2 = ConnectFromCpu(family, l.port, other);
    if (c2 < 0) return 40;
    fsocket_accept_arg acc{};
    sockaddr_storage peer;
    uint32_t plen = sizeof(peer);
    acc.fd = l.fd;
    acc.addr = (uintptr_t)&peer;
    acc.addrlen = (uintptr_t)&plen;
    bool got = false;
    for (int i = 0; i < 1000 && !got; i++) {
      got = ioctl(dev, FSOCKET_IOC_ACCEPT, &acc) == 0;
      if (!got) usleep(2000);
    }
    if (!got) return 41;
    if (acc.cpu != -1) return 42;
    sockaddr_storage mine;
    socklen_t ml = sizeof(mine);
    getsockname(c2, (sockaddr*)&mine, &ml);
    if (plen != ml || memcmp(&peer, &mine, ml) != 0) return 43;
    close(acc.new_fd);
    close(c1);
    close(c2);
    return 0;
  });
  EXPECT_EQ(rc, 0) << "1x: spawn errno+10, 2: not pinned, 7: address, 8: not EAGAIN, "
                      "9: no EEXIST, 3x: local, 4x: global";
  EXPECT_GE(StatTotal("local_accept"), local0 + 1);
  close(l.fd);
  close(dev);
}

INSTANTIATE_TEST_SUITE_P(Family, Spawn2, ::testing::Values(AF_INET, AF_INET6),
                         [](const auto& info) { return info.param == AF_INET6 ? "IPv6" : "IPv4"; });

TEST(ListenSpawn, Mode1NeedsAPinnedTask) {
  REQUIRE_MODE(1);
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  auto online = OnlineCpus();
  int rc = RunChild([&] {
    if (online.size() > 1) {
      if (!AllowCpus(online)) return 1;
      SpawnResult s = Spawn(dev, l.fd);
      if (!(s.rc == -1 && s.err == EINVAL)) return 2;
    }
    int cpu = online.back();
    if (!PinSelf(cpu)) return 3;
    SpawnResult s = Spawn(dev, l.fd);
    if (s.rc != 0 || s.cpu != cpu) return 4;
    auto allowed = AllowedCpus();
    if (allowed.size() != 1 || allowed[0] != cpu) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0);
  // Another task pinned to the same CPU: the slot is taken.
  rc = RunChild([&] {
    // The first child exited: its slot is free again.
    if (!PinSelf(online.back())) return 3;
    SpawnResult s = Spawn(dev, l.fd);
    if (s.rc != 0) return 10 + s.err;
    int r2 = RunChild([&] {
      SpawnResult t = Spawn(dev, l.fd);
      return t.rc == -1 && t.err == EBUSY ? 0 : 1;
    });
    return r2 ? 20 : 0;
  });
  EXPECT_EQ(rc, 0);
  close(l.fd);
  close(dev);
}

TEST(ListenSpawn, MoreWorkersThanCpusFallBack) {
  REQUIRE_MODE(2);
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  auto online = OnlineCpus();
  unsigned long long fb0 = StatTotal("fallback");
  std::vector<Worker> ws;
  std::vector<int> cpus;
  for (size_t i = 0; i < online.size(); i++) {
    ws.push_back(StartWorker(dev, l.fd, {}, -1, false));
    EXPECT_EQ(ws.back().spawn.rc, 0) << strerror(ws.back().spawn.err);
    cpus.push_back(ws.back().spawn.cpu);
  }
  std::sort(cpus.begin(), cpus.end());
  EXPECT_EQ(cpus, online) << "one slot per CPU";
  // One more: -EBUSY, not pinned, still alive.
  int rc = RunChild([&] {
    auto before = AllowedCpus();
    SpawnResult s = Spawn(dev, l.fd);
    if (!(s.rc == -1 && s.err == EBUSY)) return 1;
    if (AllowedCpus() != before) return 2;
    // The global listener still serves it.
    int c = ConnectLoopback(AF_INET, l.port);
    (void)c;
    return 0;
  });
  EXPECT_EQ(rc, 0);
  EXPECT_GE(StatTotal("fallback"), fb0 + 1);
  for (auto& w : ws) StopWorker(w);
  close(l.fd);
  close(dev);
}

// The result of a spawn cannot be copied back (read-only argument): EFAULT,
// no fd leaked, and the slot is given back.
TEST(ListenSpawn, FailedCopyOutUndoesTheSpawn) {
  if (Mode() == 0) GTEST_SKIP() << "spawn is off";
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  int cpu = OnlineCpus().back();
  int rc = RunChild([&] {
    if (!PinSelf(cpu)) return 1;
    void* ro = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    auto* a = static_cast<fsocket_spawn_arg*>(ro);
    *a = fsocket_spawn_arg{l.fd, -1, -1, O_CLOEXEC};
    if (mprotect(ro, 4096, PROT_READ) != 0) return 2;
    int probe = dup(0);
    close(probe);
    errno = 0;
    if (ioctl(dev, FSOCKET_IOC_SPAWN_LISTEN, ro) != -1 || errno != EFAULT) return 3;
    int next = dup(0);
    if (next != probe) return 4;  // an fd leaked
    close(next);
    // The slot is free again: the same task can spawn on that CPU.
    SpawnResult s = Spawn(dev, l.fd);
    if (s.rc != 0 || s.cpu != cpu) return 10 + s.err;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "3: not EFAULT, 4: fd leaked, 1x: respawn errno + 10";
  close(l.fd);
  close(dev);
}

TEST(ListenSpawn, Mode2UsesOnlyTheAllowedCpus) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(4);
  // A cpuset-like restriction with non-contiguous ids: {1, 3}.
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  std::vector<Worker> ws;
  std::vector<int> got;
  for (int i = 0; i < 2; i++) {
    ws.push_back(StartWorker(dev, l.fd, {1, 3}, -1, false));
    EXPECT_EQ(ws.back().spawn.rc, 0) << strerror(ws.back().spawn.err);
    got.push_back(ws.back().spawn.cpu);
  }
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<int>{1, 3}));
  Worker third = StartWorker(dev, l.fd, {1, 3}, -1, false);
  EXPECT_EQ(third.spawn.rc, -1);
  EXPECT_EQ(third.spawn.err, EBUSY) << "CPUs 0 and 2 are free but not allowed";
  StopWorker(third);
  // Asking for a CPU outside the allowed set: EINVAL.
  Worker fourth = StartWorker(dev, l.fd, {1, 3}, 2, false);
  EXPECT_EQ(fourth.spawn.err, EINVAL);
  StopWorker(fourth);
  for (auto& w : ws) StopWorker(w);
  close(l.fd);
  close(dev);
}

TEST(ListenSpawn, ATaskKeepsItsCpuAcrossGroups) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(2);
  int dev = OpenDev();
  Listener a = MakeListener(dev, AF_INET);
  Listener b = MakeListener(dev, AF_INET6);
  Listener c = MakeListener(dev, AF_INET);
  int rc = RunChild([&] {
    SpawnResult s1 = Spawn(dev, a.fd);
    if (s1.rc != 0) return 1;
    SpawnResult s2 = Spawn(dev, b.fd);
    if (s2.rc != 0 || s2.cpu != s1.cpu) return 2;
    // Asking for another CPU than the one it holds: EINVAL.
    int other = s1.cpu == OnlineCpus()[0] ? OnlineCpus()[1] : OnlineCpus()[0];
    if (Spawn(dev, c.fd, other).err != EINVAL) return 3;
    // SPAWN_ALL: only c is left; a and b are skipped (already spawned).
    SpawnResult all = Spawn(dev, -1, -1, O_CLOEXEC, FSOCKET_IOC_SPAWN_ALL_LISTEN);
    if (all.rc != 0 || all.local_fd != 1 || all.cpu != s1.cpu) return 4;
    all = Spawn(dev, -1, -1, O_CLOEXEC, FSOCKET_IOC_SPAWN_ALL_LISTEN);
    if (all.rc != 0 || all.local_fd != 0) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0);
  close(a.fd);
  close(b.fd);
  close(c.fd);
  close(dev);
}

TEST(ListenSpawn, SlotFreedWhenTheWorkerExits) {
  REQUIRE_MODE(2);
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  int cpu = OnlineCpus().back();
  for (int round = 0; round < 3; round++) {
    // Restricted to one CPU, each worker gets it only if the previous
    // one's slot was freed when it died.
    Worker w = StartWorker(dev, l.fd, {cpu}, -1, false);
    EXPECT_EQ(w.spawn.rc, 0) << "round " << round << ": " << strerror(w.spawn.err);
    EXPECT_EQ(w.spawn.cpu, cpu);
    KillWorker(w);  // dies without CLOSE
  }
  close(l.fd);
  close(dev);
}

TEST(ListenSpawn, CloseFreesTheSlot) {
  REQUIRE_MODE(2);
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  int cpu = OnlineCpus().back();
  int rc = RunChild([&] {
    if (!PinSelf(cpu)) return 1;
    SpawnResult s = Spawn(dev, l.fd);
    if (s.rc != 0 || s.cpu != cpu) return 2;
    // The slot is taken for another task on the same CPU ...
    int r = RunChild([&] { return Spawn(dev, l.fd).err == EBUSY ? 0 : 1; });
    if (r) return 3;
    fsocket_fd_arg c{l.fd, 0};
    if (ioctl(dev, FSOCKET_IOC_CLOSE, &c) != 0) return 4;
    if (Listening(s.local_fd)) return 5;
    if (ioctl(dev, FSOCKET_IOC_CLOSE, &c) != -1 || errno != ENOENT) return 6;
    close(s.local_fd);
    // ... and free after CLOSE, while we still live.
    r = RunChild([&] { return Spawn(dev, l.fd).rc == 0 ? 0 : 1; });
    return r ? 7 : 0;
  });
  EXPECT_EQ(rc, 0);
  close(l.fd);
  close(dev);
}

TEST(ListenSpawn, ShutdownListenClosesEveryLocalListener) {
  if (Mode() == 0) GTEST_SKIP() << "spawn is off";
  REQUIRE_CPUS(2);
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  auto online = OnlineCpus();
  std::vector<Worker> ws;
  for (int i = 0; i < 2; i++) {
    ws.push_back(StartWorker(dev, l.fd, {online[i]}, -1, false));
    ASSERT_EQ(ws.back().spawn.rc, 0) << strerror(ws.back().spawn.err);
  }
  fsocket_fd_arg a{l.fd, 0};
  ASSERT_EQ(ioctl(dev, FSOCKET_IOC_SHUTDOWN_LISTEN, &a), 0) << strerror(errno);
  // Every connection now reaches the global listener.
  for (int i = 0; i < 2; i++) {
    int c = ConnectFromCpu(AF_INET, l.port, online[i]);
    ASSERT_GE(c, 0);
    AcceptResult r = AcceptWait(dev, l.fd);
    EXPECT_GE(r.fd, 0);
    EXPECT_EQ(r.cpu, -1);
    close(r.fd);
    close(c);
  }
  // The slots are free again.
  Worker w = StartWorker(dev, l.fd, {online[0]}, -1, false);
  EXPECT_EQ(w.spawn.rc, 0) << strerror(w.spawn.err);
  StopWorker(w);
  for (auto& x : ws) StopWorker(x);
  close(l.fd);
  close(dev);
}

TEST(ListenSpawn, GroupRemovedWhenTheGlobalListenerCloses) {
  if (Mode() == 0) GTEST_SKIP() << "spawn is off";
  int dev = OpenDev();
  Listener m = MakeListener(dev, AF_INET);
  int sync[2];
  ASSERT_EQ(pipe(sync), 0);
  fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    close(sync[0]);
    PinSelf(OnlineCpus().back());  // mode 1 needs it, mode 2 accepts it
    SpawnResult s = Spawn(dev, m.fd);
    close(m.fd);
    char ok = s.rc == 0 ? 1 : 0;
    (void)!write(sync[1], &ok, 1);
    for (int i = 0; i < 300; i++) {
      if (!Listening(s.local_fd)) _exit(0);
      usleep(10000);
    }
    _exit(2);
  }
  close(sync[1]);
  char ok = 0;
  ASSERT_EQ(read(sync[0], &ok, 1), 1);
  EXPECT_EQ(ok, 1);
  close(m.fd);  // the last reference: the group goes away
  int st;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0)
      << "the local listener still listens after the global one closed";
  close(sync[0]);
  close(dev);
}

TEST(ListenSpawn, PrivilegedPortAfterDroppingPrivileges) {
  REQUIRE_MODE(2);
  int dev = OpenDev();
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(81);
  ASSERT_EQ(bind(fd, (sockaddr*)&sin, sizeof(sin)), 0) << strerror(errno);
  fsocket_listen_arg la{fd, 16};
  ASSERT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &la), 0);
  int rc = RunChild([&] {
    if (setgid(65534) != 0 || setuid(65534) != 0) return 1;
    SpawnResult s = Spawn(dev, fd);
    if (s.rc != 0) return 10 + s.err;
    int c = ConnectFromCpu(AF_INET, 81, s.cpu);
    AcceptResult r = AcceptWait(dev, fd);
    if (c < 0 || r.fd < 0 || r.cpu != s.cpu) return 3;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "1x: spawn errno + 10 as nobody";
  close(fd);
  close(dev);
}

// A worker dies with connections queued on its local listener: the reaper
// closes it and counts them as migrated (net.ipv4.tcp_migrate_req=1, the
// kernel moves them to the global listener) or dropped.
TEST(ListenSpawn, QueuedConnectionsOfADeadWorker) {
  if (Mode() == 0) GTEST_SKIP() << "spawn is off";
  int dev = OpenDev();
  const char* sysctl = "/proc/sys/net/ipv4/tcp_migrate_req";
  // Debian's 5.10 has the sysctl but not the migration (upstream 5.14).
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
    if (access(sysctl, W_OK) == 0) {
      int fd = open(sysctl, O_WRONLY);
      ASSERT_EQ(write(fd, migrate ? "1" : "0", 1), 1);
      close(fd);
    }
    Listener l = MakeListener(dev, AF_INET);
    int cpu = OnlineCpus().back();
    unsigned long long m0 = StatTotal("migrated"), d0 = StatTotal("dropped");
    Worker w = StartWorker(dev, l.fd, {cpu}, -1, false);
    ASSERT_EQ(w.spawn.rc, 0) << strerror(w.spawn.err);
    std::vector<int> clients;
    for (int i = 0; i < 3; i++) clients.push_back(ConnectFromCpu(AF_INET, l.port, cpu));
    usleep(100 * 1000);  // let the handshakes complete
    KillWorker(w);
    // The next spawn reaps synchronously; it is not given the slot's CPU.
    Worker probe = StartWorker(dev, l.fd, {cpu}, -1, false);
    EXPECT_EQ(probe.spawn.rc, 0);
    StopWorker(probe);
    if (migrate) {
      EXPECT_EQ(StatTotal("migrated"), m0 + 3);
      int got = 0;
      for (int i = 0; i < 3; i++) {
        AcceptResult r = AcceptWait(dev, l.fd, 2000);
        if (r.fd >= 0) {
          got++;
          EXPECT_EQ(r.cpu, -1);
          close(r.fd);
        }
      }
      EXPECT_EQ(got, 3) << "migrated connections reach the global listener";
    } else {
      EXPECT_EQ(StatTotal("dropped"), d0 + 3);
    }
    for (int c : clients) close(c);
    close(l.fd);
  }
  if (access(sysctl, W_OK) == 0) {
    int fd = open(sysctl, O_WRONLY);
    (void)!write(fd, "0", 1);
    close(fd);
  }
  close(dev);
}

// Races: workers spawn, accept and CLOSE in a loop while clients connect on
// every CPU and one worker is killed and replaced.  Every connection is
// accepted or counted as dropped/migrated, and the kernel stays quiet (the
// suite checks dmesg; the guest runs with panic_on_warn).
TEST(ListenSpawn, ConcurrentSpawnCloseAcceptAndDeath) {
  if (Mode() == 0) GTEST_SKIP() << "spawn is off";
  REQUIRE_CPUS(2);
  int dev = OpenDev();
  Listener l = MakeListener(dev, AF_INET);
  auto online = OnlineCpus();
  unsigned long long lost0 = StatTotal("dropped") + StatTotal("migrated");
  int rp[2];
  ASSERT_EQ(pipe2(rp, O_CLOEXEC), 0);
  auto start_churner = [&](int cpu) {
    fflush(nullptr);
    pid_t pid = fork();
    if (pid == 0) {
      PinSelf(cpu);
      auto end = std::chrono::steady_clock::now() + std::chrono::seconds(4);
      while (std::chrono::steady_clock::now() < end) {
        SpawnResult s = Spawn(dev, l.fd);
        for (int k = 0; k < 30; k++) {
          AcceptResult a = AcceptOnce(dev, l.fd);
          if (a.fd >= 0) {
            close(a.fd);
            (void)!write(rp[1], "a", 1);
          } else {
            usleep(1000);
          }
        }
        if (s.rc == 0) {
          fsocket_fd_arg c{l.fd, 0};
          ioctl(dev, FSOCKET_IOC_CLOSE, &c);
          close(s.local_fd);
        }
      }
      _exit(0);
    }
    return pid;
  };
  std::vector<pid_t> pids;
  for (int cpu : online) pids.push_back(start_churner(cpu));
  // A worker that dies holding its slot, replaced by a new one.
  Worker victim = StartWorker(dev, l.fd, {online[0]}, -1, false);
  std::atomic<int> made{0};
  std::vector<std::thread> clients;
  std::vector<std::vector<int>> fds(online.size());
  for (size_t i = 0; i < online.size(); i++) {
    clients.emplace_back([&, i] {
      PinSelf(online[i]);
      for (int k = 0; k < 60; k++) {
        int c = ConnectLoopback(AF_INET, l.port);
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
  // Whatever is left sits in the global listener's queue.
  for (;;) {
    AcceptResult a = AcceptOnce(dev, l.fd);
    if (a.fd < 0) break;
    close(a.fd);
    accepted++;
  }
  usleep(400 * 1000);  // let the reaper close the victim's listener
  unsigned long long lost = StatTotal("dropped") + StatTotal("migrated") - lost0;
  printf("races: %d connections, %d accepted, %llu dropped or migrated\n",
         made.load(), accepted, lost);
  EXPECT_GT(made.load(), 0);
  EXPECT_GE(accepted + (long long)lost, made.load() * 95 / 100);
  for (auto& v : fds)
    for (int c : v) close(c);
  close(l.fd);
  close(dev);
}

// Four pinned workers, clients pinned one per CPU: every connection must be
// processed on the CPU that ran its SYN, and stay so after a worker dies
// (the kernel reorders the reuseport group then).
TEST_P(Spawn2, LocalityAndGroupOrderAfterAWorkerDies) {
  REQUIRE_MODE(2);
  REQUIRE_CPUS(2);
  int family = GetParam();
  int dev = OpenDev();
  Listener l = MakeListener(dev, family);
  auto online = OnlineCpus();
  if (online.size() > 4) online.resize(4);
  std::vector<Worker> ws;
  for (int cpu : online) {
    ws.push_back(StartWorker(dev, l.fd, {}, cpu));
    ASSERT_EQ(ws.back().spawn.rc, 0) << strerror(ws.back().spawn.err);
    ASSERT_EQ(ws.back().spawn.cpu, cpu);
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
          int c = ConnectLoopback(family, l.port);
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
    if (r.b >= 0 && r.b == r.a) local++;
    if (r.c == r.d) same_cpu++;
  }
  double locality = 100.0 * same_cpu / recs.size();
  printf("locality %s: %zu/%zu = %.2f%% processed on the SYN's CPU, %zu local accepts\n",
         family == AF_INET6 ? "IPv6" : "IPv4", same_cpu, recs.size(), locality, local);
  EXPECT_GE(locality, 99.0);
  EXPECT_GE(100.0 * local / recs.size(), 99.0);
  for (int c : clients) close(c);
  clients.clear();

  // The first local listener dies (the kernel moves the last one into its
  // place in the group); the others must keep their CPUs.
  KillWorker(ws[0]);
  usleep(600 * 1000);  // > the reaper period
  std::vector<int> rest(online.begin() + 1, online.end());
  made = run_clients(online, 20);
  recs = Collect(ws, made);
  ASSERT_EQ(recs.size(), made);
  std::map<int, int> by_syn_cpu_local, by_syn_cpu_global;
  for (const Rec& r : recs) {
    if (r.b >= 0) {
      EXPECT_EQ(r.b, r.c) << "local accept from cpu " << r.b << " of a SYN on cpu " << r.c;
      by_syn_cpu_local[r.c]++;
    } else {
      by_syn_cpu_global[r.c]++;
    }
  }
  for (int cpu : rest) EXPECT_EQ(by_syn_cpu_local[cpu], 20) << "cpu " << cpu;
  EXPECT_EQ(by_syn_cpu_global[online[0]], 20) << "the dead worker's CPU goes to the global listener";
  for (int c : clients) close(c);
  for (auto& w : ws) StopWorker(w);
  close(l.fd);
  close(dev);
}

}  // namespace
