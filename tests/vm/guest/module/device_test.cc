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
    // LISTEN on a socket nobody made itself.
    int port = 0;
    int fd = BoundReuseport(AF_INET, &port);
    if (fd < 0 || listen(fd, 8) != 0) return 5;
    fsocket_listen_arg l{fd, 0};
    int r = ioctl(dev, FSOCKET_IOC_LISTEN, &l);
    if (v.listen_spawn ? r != 0 : (r != -1 || errno != EOPNOTSUPP)) return 6;
    return 0;
  });
  EXPECT_EQ(rc, 0) << "90: cannot setuid, 2: open, 3: VERSION, 4: abi, 5: socket, 6: LISTEN";
}

TEST(Device, VersionAndFeatures) {
  int dev = OpenDev();
  fsocket_version v = Version(dev);
  EXPECT_EQ(v.abi_version, (unsigned)FSOCKET_ABI_VERSION);
  EXPECT_EQ(v.nr_cpu_ids, (unsigned)PossibleCpus().back() + 1);
  EXPECT_EQ(v.reserved, 0u);
  EXPECT_EQ(v.listen_spawn, ExpectedParams()["enable_listen_spawn"]);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_STATS);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_LISTENERS);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_LEAVE);
  EXPECT_TRUE(v.features & FSOCKET_FEAT_SHUTDOWN_LISTEN);
  bool on = v.listen_spawn != 0;
  EXPECT_EQ(!!(v.features & FSOCKET_FEAT_LISTEN), on);
  EXPECT_EQ(!!(v.features & FSOCKET_FEAT_JOIN), on);
  // Never advertised by this module version, or removed in ABI v2.
  EXPECT_FALSE(v.features & FSOCKET_FEAT_RFD);
  EXPECT_FALSE(v.features & FSOCKET_FEAT_FAST_EPOLL);
  EXPECT_EQ(v.features & 0x5dull, 0u) << "bits of removed commands";
  EXPECT_EQ(v.features >> 13, 0u) << "unknown feature bits";
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
    // Only the off switch is writable (by root).
    EXPECT_EQ(st.st_mode & 0777, name == "enable_listen_spawn" ? 0644u : 0444u) << path;
    EXPECT_EQ(ParamValue(name), value) << path;
  }
}

TEST(Device, OffSwitchIsRootOnly) {
  int rc = RunChild([] {
    if (int e = DropToNobody()) return e;
    int fd = open("/sys/module/fastsocket/parameters/enable_listen_spawn", O_WRONLY);
    return fd < 0 && errno == EACCES ? 0 : 1;
  });
  EXPECT_EQ(rc, 0) << "nobody may open the off switch for writing";
}

TEST(Device, UnknownCommandIsENOTTY) {
  int dev = OpenDev();
  char a[64] = {};
  // The commands removed in ABI v2 (with their v1 sizes), the reserved
  // EPOLL_CTL number, a wrong size, a wrong magic, a wrong direction: all
  // unknown.
  unsigned long bad[] = {
      _IOWR(FSOCKET_IOC_MAGIC, 0x01, char[16]),  // SOCKET
      _IOWR(FSOCKET_IOC_MAGIC, 0x03, char[16]),  // SPAWN_LISTEN
      _IOWR(FSOCKET_IOC_MAGIC, 0x04, char[32]),  // ACCEPT
      _IOWR(FSOCKET_IOC_MAGIC, 0x05, struct fsocket_fd_arg),  // CLOSE
      _IOWR(FSOCKET_IOC_MAGIC, 0x07, char[16]),  // SPAWN_ALL_LISTEN
      _IOWR(FSOCKET_IOC_MAGIC, 0x08, struct fsocket_fd_arg),
      _IOWR(FSOCKET_IOC_MAGIC, 0x09, struct fsocket_fd_arg),
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
  unsigned long cmds[] = {FSOCKET_IOC_VERSION, FSOCKET_IOC_LISTEN, FSOCKET_IOC_JOIN,
                          FSOCKET_IOC_LEAVE, FSOCKET_IOC_SHUTDOWN_LISTEN};
  bool on = ParamValue("enable_listen_spawn") != 0;
  for (unsigned long cmd : cmds) {
    // With listen spawn off, LISTEN and JOIN fail before reading the argument.
    int want = !on && (cmd == FSOCKET_IOC_LISTEN || cmd == FSOCKET_IOC_JOIN) ? EOPNOTSUPP : EFAULT;
    errno = 0;
    EXPECT_EQ(ioctl(dev, cmd, p), -1);
    EXPECT_EQ(errno, want) << std::hex << cmd;
    errno = 0;
    EXPECT_EQ(ioctl(dev, cmd, nullptr), -1);
    EXPECT_EQ(errno, want) << std::hex << cmd;
  }
  munmap(p, 4096);
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
    fsocket_listen_arg a{c.fd, 0};
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), -1) << c.fd;
    EXPECT_EQ(errno, c.err) << "fd " << c.fd;
  }
  close(udp);
  close(null_fd);
  close(dev);
}

TEST(Listen, NeedsAListeningReuseportSocket) {
  int dev = OpenDev();
  for (int family : {AF_INET, AF_INET6}) {
    int port = 0;
    int plain = BoundReuseport(family, &port, false);
    ASSERT_GE(plain, 0);
    ASSERT_EQ(listen(plain, 16), 0);
    fsocket_listen_arg a{plain, 0};
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), -1) << "no SO_REUSEPORT";
    EXPECT_EQ(errno, EINVAL);
    close(plain);

    int fd = BoundReuseport(family, &port);
    ASSERT_GE(fd, 0);
    a = fsocket_listen_arg{fd, 0};
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), -1) << "not listening";
    EXPECT_EQ(errno, EINVAL);
    int acc = 1;
    socklen_t len = sizeof(acc);
    EXPECT_EQ(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &len), 0);
    EXPECT_EQ(acc, 0) << "the module must not listen() for the caller";
    ASSERT_EQ(listen(fd, 16), 0);
    a = fsocket_listen_arg{fd, 16};
    errno = 0;
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), -1) << "backlog is reserved";
    EXPECT_EQ(errno, EINVAL);
    a = fsocket_listen_arg{fd, 0};
    ASSERT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), 0) << strerror(errno);
    EXPECT_EQ(ioctl(dev, FSOCKET_IOC_LISTEN, &a), 0) << "registering twice is a no-op";
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
