#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace fst {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\n");
  size_t e = s.find_last_not_of(" \t\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::map<std::string, int> ExpectedParams() {
  std::map<std::string, int> m;
#define FST_DEFAULT(name, def, min, max, allowed, desc) m[#name] = def;
  FSOCKET_PARAMS(FST_DEFAULT)
#undef FST_DEFAULT
  const char* env = getenv("FS_PARAMS");
  std::istringstream words(env ? env : "");
  std::string w;
  while (words >> w) {
    size_t eq = w.find('=');
    if (eq == std::string::npos) continue;
    m[w.substr(0, eq)] = atoi(w.c_str() + eq + 1);
  }
  return m;
}

int ParamValue(const std::string& name) {
  std::string v = Trim(ReadFile("/sys/module/fastsocket/parameters/" + name));
  if (v.empty()) return -1000;
  return atoi(v.c_str());
}

int OpenDev() {
  int fd = open(FSOCKET_DEVICE_PATH, O_RDWR | O_CLOEXEC);
  EXPECT_GE(fd, 0) << "open " FSOCKET_DEVICE_PATH ": " << strerror(errno);
  return fd;
}

fsocket_version Version(int dev) {
  fsocket_version v;
  memset(&v, 0xff, sizeof(v));
  EXPECT_EQ(ioctl(dev, FSOCKET_IOC_VERSION, &v), 0) << strerror(errno);
  return v;
}

int RunChild(const std::function<int()>& fn) {
  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(fn());
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) return -1;
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}

static std::vector<int> ParseCpuList(const std::string& text) {
  std::vector<int> cpus;
  std::istringstream in(Trim(text));
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part.empty()) continue;
    int a = 0, b = 0;
    if (sscanf(part.c_str(), "%d-%d", &a, &b) == 2) {
      for (int c = a; c <= b; c++) cpus.push_back(c);
    } else {
      cpus.push_back(atoi(part.c_str()));
    }
  }
  return cpus;
}

std::vector<int> PossibleCpus() {
  return ParseCpuList(ReadFile("/sys/devices/system/cpu/possible"));
}

std::vector<int> OnlineCpus() {
  return ParseCpuList(ReadFile("/sys/devices/system/cpu/online"));
}

bool PinSelf(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

bool AllowCpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; c++)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

socklen_t LoopbackAddr(int family, int port, sockaddr_storage* ss) {
  memset(ss, 0, sizeof(*ss));
  if (family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_addr = in6addr_loopback;
    a->sin6_port = htons(port);
    return sizeof(*a);
  }
  auto* a = reinterpret_cast<sockaddr_in*>(ss);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a->sin_port = htons(port);
  return sizeof(*a);
}

int BoundReuseport(int family, int* port, bool reuseport) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  sockaddr_storage ss;
  socklen_t len = LoopbackAddr(family, 0, &ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  *port = family == AF_INET6
              ? ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port)
              : ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return fd;
}

int ConnectLoopback(int family, int port) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_storage ss;
  socklen_t len = LoopbackAddr(family, port, &ss);
  if (connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace fst
