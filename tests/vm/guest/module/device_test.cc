// fastsocket.ko in the guest: the device, the ABI, the parameters, the
// stats file and the error paths of the fd commands.
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>

#include <gtest/gtest.h>

#include "util.h"

using namespace fst;

namespace {

constexpr uid_t kNobody = 65534;

int DropToNobody() {
  if (setgroups(0, nullptr) != 0 || setgid(kNobody) != 0 ||
      setuid(kNobody) != 0)
    return 90;
  return 0;
}

TEST(Device, NodeIsCharDeviceMode0666) {
  struct stat st;
  ASSERT_EQ(stat(FSOCKET_DEVICE_PATH, &st), 0) << strerror(errno);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
}

TEST(Device, UsableByNobody) {
  int rc = RunChild([] {
    if (int e = DropToNobody()) return e;
    int dev = open(FSOCKET_DEVICE_PATH, O_RDWR);
    if (dev < 0) return 2;
    fsocket_version v{};
    if (ioctl(dev, FSOCKET_IOC_VERSION, &v) != 0) return 3;
    if (v.abi_version != FSOCKET_ABI_VERSION) return 4;
    fsocket_socket_arg s{AF_INET, SOCK_STREAM, 0, -1};
    if (ioctl(dev, FSOCKET_IOC_SOCKET, &s) != 0 || s.fd < 0) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "90: cannot setuid, 2: open, 3: VERSION, 4: abi, 5: SOCKET";
}

TEST(Device, VersionAndFeatures) {
  int dev = OpenDev();
  fsocket_version v = Version(dev);
  EXPECT_EQ(v.abi_version, (unsigned)FSOCKET_ABI_VERSION);
  EXPECT_EQ(v.nr_cpu_ids, (unsigned)PossibleCpus().back() + 1);
  EXPECT_EQ(v.reserved, 0u);
  EXPECT_EQ(v.listen_spawn, ExpectedParams()["enable_listen_spawn"]);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_STATS);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_SOCKET);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_LISTEN);
  // Never advertised by this module version.
  EXPECT_FALSE(v.features & FSOCKET_FEAT_RFD);
  EXPECT_FALSE(v.features & FSOCKET_FEAT_FAST_EPOLL);
  EXPECT_EQ(v.features >> 10, 0u) << "unknown feature bits";
  ASSERT_NE(memchr(v.module_version, 0, sizeof(v.module_version)), nullptr);
  EXPECT_EQ(std::string(v.module_version),
            Trim(ReadFile("/sys/module/fastsocket/version")));
  EXPECT_EQ(std::string(v.module_version), FASTSOCKET_EXPECTED_VERSION)
      << "MODULE_VERSION is not the project's VERSION";
  close(dev);
}

TEST(Device, ParametersInSysfs) {
  auto expected = ExpectedParams();
  ASSERT_EQ(expected.size(), (size_t)FSOCKET_NR_PARAMS);
  for (const auto& [name, value] : expected) {
    std::string path = "/sys/module/fastsocket/parameters/" + name;
    struct stat st;
    ASSERT_EQ(stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, 0444u) << path;
    EXPECT_EQ(ParamValue(name), value) << path;
  }
}

TEST(Device, UnknownCommandIsENOTTY) {
  int dev = OpenDev();
  fsocket_fd_arg a{};
  // The reserved EPOLL_CTL number, a wrong size, a wrong magic, a wrong
  // direction: all unknown.
  unsigned long bad[] = {
      _IOWR(FSOCKET_IOC_MAGIC, 0x08, struct fsocket_fd_arg),
      _IOWR(FSOCKET_IOC_MAGIC, 0x00, struct fsocket_fd_arg),
      _IOWR(0xf4, 0x00, struct fsocket_version),
      _IOR(FSOCKET_IOC_MAGIC, 0x00, struct fsocket_version),
      _IO(FSOCKET_IOC_MAGIC, 0x05),
      0x1234,
  };
  for (unsigned long cmd : bad) {
    errno = 0;
    EXPECT_EQ(ioctl(dev, cmd, &a), -1) << std::hex << cmd;
    EXPECT_EQ(errno, ENOTTY) << std::hex << cmd;
  }
  close(dev);
}

TEST(Device, BadPointerIsEFAULT) {
  int dev = OpenDev();
  // An unmapped page.
  void* p = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  unsigned long cmds[] = {FSOCKET_IOC_VERSION, FSOCKET_IOC_SOCKET,
                          FSOCKET_IOC_LISTEN};
  for (unsigned long cmd : cmds) {
    errno = 0;
    EXPECT_EQ(ioctl(dev, cmd, p), -1);
    EXPECT_EQ(errno, EFAULT) << std::hex << cmd;
    errno = 0;
    EXPECT_EQ(ioctl(dev, cmd, nullptr), -1);
    EXPECT_EQ(errno, EFAULT) << std::hex << cmd;
  }
  // Read-only memory: the copy back fails, and SOCKET must not leak its fd.
  void* ro = mmap(nullptr, 4096, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(ro, MAP_FAILED);
  auto* s = static_cast<fsocket_socket_arg*>(ro);
  *s = fsocket_socket_arg{AF_INET, SOCK_STREAM, 0, -1};
  ASSERT_EQ(mprotect(ro, 4096, PROT_READ), 0);
  int probe = dup(0);
  close(probe);
  errno = 0;
  EXPECT_EQ(ioctl(dev, FSOCKET_IOC_SOCKET, ro), -1);
  EXPECT_EQ(errno, EFAULT);
  int next = dup(0);
  EXPECT_EQ(next, probe) << "SOCKET leaked an fd after a failed copy-out";
  close(next);
  munmap(p, 4096);
  munmap(ro, 4096);
  close(dev);
}

TEST(Socket, CreatesTcpSockets) {
  int dev = OpenDev();
  for (int family : {AF_INET, AF_INET6}) {
    fsocket_socket_arg a{family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                         IPPROTO_TCP, -1};
    ASSERT_EQ(ioctl(dev, FSOCKET_IOC_SOCKET, &a), 0) << strerror(errno);
    ASSERT_GE(a.fd, 0);
    int v = 0;
    socklen_t len = sizeof(v);
    EXPECT_EQ(getsockopt(a.fd, SOL_SOCKET, SO_DOMAIN, &v, &len), 0);
    EXPECT_EQ(v, family);
    EXPECT_EQ(getsockopt(a.fd, SOL_SOCKET, SO_PROTOCOL, &v, &len), 0);
    EXPECT_EQ(v, IPPROTO_TCP);
    EXPECT_TRUE(fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
    EXPECT_TRUE(fcntl(a.fd, F_GETFL) & O_NONBLOCK);
    close(a.fd);

    a = fsocket_socket_arg{family, SOCK_STREAM, 0, -1};
    ASSERT_EQ(ioctl(dev, FSOCKET_IOC_SOCKET, &a), 0);
    EXPECT_FALSE(fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
    EXPECT_FALSE(fcntl(a.fd, F_GETFL) & O_NONBLOCK);
    close(a.fd);
  }
  struct {
    fsocket_socket_arg arg;
    int err;
  } bad[] = {
      {{AF_UNIX, SOCK_STREAM, 0, -1}, EAFNOSUPPORT},
      {{AF_INET, SOCK_DGRAM, 0, -1}, EPROTONOSUPPORT},
      {{AF_INET, SOCK_STREAM, IPPROTO_UDP, -1}, EPROTONOSUPPORT},
  };
  for (auto& b : bad) {
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_SOCKET, &b.arg), -1);
    EXPECT_EQ(errno, b.err) << b.arg.family << "/" << b.arg.type;
  }
  close(dev);
}

TEST(Listen, RejectsFdsThatAreNotTcpSocketsOfTheCaller) {
  int dev = OpenDev();
  int null_fd = open("/dev/null", O_RDONLY);
  int udp = socket(AF_INET, SOCK_DGRAM, 0);
  int closed = dup(null_fd);
  close(closed);
  struct {
    int fd;
    int err;
  } cases[] = {
      {null_fd, ENOTSOCK}, {dev, ENOTSOCK},  {closed, EBADF},
      {-1, EBADF},         {1 << 20, EBADF}, {udp, EPROTONOSUPPORT},
  };
  for (auto& c : cases) {
    fsocket_listen_arg a{c.fd, 16};
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), -1) << c.fd;
    EXPECT_EQ(errno, c.err) << "fd " << c.fd;
  }
  close(udp);
  close(null_fd);
  close(dev);
}

TEST(Listen, NeedsReuseportAndListens) {
  int dev = OpenDev();
  for (int family : {AF_INET, AF_INET6}) {
    int port = 0;
    int plain = BoundReuseport(family, &port, false);
    ASSERT_GE(plain, 0);
    fsocket_listen_arg a{plain, 16};
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), -1);
    EXPECT_EQ(errno, EINVAL);
    close(plain);

    int fd = BoundReuseport(family, &port);
    ASSERT_GE(fd, 0);
    a = fsocket_listen_arg{fd, 16};
    ASSERT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), 0) << strerror(errno);
    int acc = 0;
    socklen_t len = sizeof(acc);
    EXPECT_EQ(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
    EXPECT_EQ(acc, 1);
    int c = ConnectLoopback(family, port);
    EXPECT_GE(c, 0);
    int s = accept(fd, nullptr, nullptr);
    EXPECT_GE(s, 0);
    close(s);
    close(c);
    close(fd);
  }
  close(dev);
}

struct StatsTable {
  std::vector<std::string> columns;
  std::map<std::string, std::vector<unsigned long long>> rows;
};

StatsTable ReadStats() {
  StatsTable t;
  std::istringstream in(ReadFile("/proc/fastsocket/stats"));
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w, key;
    words >> key;
    if (header) {
      EXPECT_EQ(key, "cpu");
      while (words >> w) t.columns.push_back(w);
      header = false;
      continue;
    }
    unsigned long long v;
    while (words >> v) t.rows[key].push_back(v);
  }
  return t;
}

TEST(Stats, FormatAndReset) {
  struct stat st;
  ASSERT_EQ(stat("/proc/fastsocket/stats", &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  StatsTable t = ReadStats();
  std::vector<std::string> want = {"local_accept", "global_accept", "spawn",
                                   "fallback",     "migrated",      "dropped"};
  ASSERT_GE(t.columns.size(), want.size());
  for (size_t i = 0; i < want.size(); i++) EXPECT_EQ(t.columns[i], want[i]);
  auto cpus = PossibleCpus();
  EXPECT_EQ(t.rows.size(), cpus.size() + 1);
  ASSERT_TRUE(t.rows.count("total"));
  std::vector<unsigned long long> sum(t.columns.size());
  for (int c : cpus) {
    auto& row = t.rows["cpu" + std::to_string(c)];
    ASSERT_EQ(row.size(), t.columns.size()) << "cpu" << c;
    for (size_t i = 0; i < row.size(); i++) sum[i] += row[i];
  }
  EXPECT_EQ(t.rows["total"], sum);

  // Only root may reset, only with "0".
  int rc = RunChild([] {
    if (int e = DropToNobody()) return e;
    int fd = open("/proc/fastsocket/stats", O_WRONLY);
    return (fd < 0 && errno == EACCES) ? 0 : 1;
  });
  EXPECT_EQ(rc, 0);
  int fd = open("/proc/fastsocket/stats", O_WRONLY);
  ASSERT_GE(fd, 0);
  errno = 0;
  EXPECT_EQ(write(fd, "1", 1), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(write(fd, "0\n", 2), 2) << strerror(errno);
  close(fd);
  t = ReadStats();
  for (unsigned long long v : t.rows["total"]) EXPECT_EQ(v, 0u);
}

}  // namespace
