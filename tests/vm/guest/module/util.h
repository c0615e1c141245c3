// Helpers shared by the guest-side tests of fastsocket.ko.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <netinet/in.h>
#include <sys/socket.h>

#include "fastsocket.h"
#include "fastsocket_params.h"

namespace fst {

// Reads a whole file; empty string and errno set on failure.
std::string ReadFile(const std::string& path);
std::string Trim(const std::string& s);

// The value each parameter should have: the table default, overridden by
// the "name=value" words of $FS_PARAMS (what the suite loaded the module with).
std::map<std::string, int> ExpectedParams();
int ParamValue(const std::string& name);  // from sysfs, -1000 if unreadable

// Opens /dev/fastsocket read-write (fails the test if it cannot).
int OpenDev();
fsocket_version Version(int dev);

// Runs fn in a forked child; returns its exit code (or 128 + signal).
int RunChild(const std::function<int()>& fn);

// Possible CPUs ("/sys/devices/system/cpu/possible") and online CPUs.
std::vector<int> PossibleCpus();
std::vector<int> OnlineCpus();
bool PinSelf(int cpu);
bool AllowCpus(const std::vector<int>& cpus);
std::vector<int> AllowedCpus();

// Fills *ss with loopback:port of family; returns its length.
socklen_t LoopbackAddr(int family, int port, sockaddr_storage* ss);
// A TCP socket with SO_REUSEPORT bound to loopback port 0 (family AF_INET or
// AF_INET6); returns the fd, port in *port.
int BoundReuseport(int family, int* port, bool reuseport = true);
// Connects a new blocking TCP socket to loopback:port; returns the fd or -1.
int ConnectLoopback(int family, int port);

}  // namespace fst
