// The ioctl ABI is the same for 32-bit and 64-bit callers, and every command
// number encodes its argument's size.
#include <stddef.h>
#include <stdint.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "abi_layout.h"
#include "fastsocket.h"

namespace {

struct Entry {
  std::string what;
  uint32_t value;
};

[[maybe_unused]] std::vector<Entry> Layout64() {  // unused without gcc-multilib
  std::vector<Entry> v;
#define S(s)                                                        \
  v.push_back({"sizeof(" #s ")", (uint32_t)sizeof(struct s)});      \
  v.push_back({"alignof(" #s ")", (uint32_t)alignof(struct s)});
#define F(s, f)                                                     \
  v.push_back({"offsetof(" #s ", " #f ")", (uint32_t)offsetof(struct s, f)}); \
  v.push_back({"sizeof(" #s "." #f ")", (uint32_t)sizeof(((struct s*)0)->f)});
#define C(c) v.push_back({#c, (uint32_t)(c)});
  FSOCKET_ABI_LAYOUT(S, F, C)
#undef S
#undef F
#undef C
  return v;
}

TEST(Abi, SameLayoutFor32And64BitCallers) {
#ifndef FASTSOCKET_LAYOUT32_BIN
  GTEST_SKIP() << "no -m32 compiler at configure time (install gcc-multilib)";
#else
  std::ifstream in(FASTSOCKET_LAYOUT32_BIN, std::ios::binary);
  ASSERT_TRUE(in) << "cannot read " << FASTSOCKET_LAYOUT32_BIN;
  std::vector<uint32_t> l32;
  uint32_t w;
  while (in.read(reinterpret_cast<char*>(&w), sizeof(w))) l32.push_back(w);
  std::vector<Entry> l64 = Layout64();
  ASSERT_EQ(l32.size(), l64.size()) << "layout32.bin does not match abi_layout.h";
  for (size_t i = 0; i < l64.size(); i++)
    EXPECT_EQ(l32[i], l64[i].value) << l64[i].what << ": 32-bit " << l32[i]
                                    << ", 64-bit " << l64[i].value;
#endif
}

TEST(Abi, StructsHaveNoImplicitPadding) {
  // Every struct's size is the sum of its fields: no hole a compiler could
  // fill differently, no uninitialised bytes copied to user space.
  size_t sum = 0;
  std::string cur;
  size_t cur_size = 0;
  auto flush = [&] {
    if (!cur.empty()) {
      EXPECT_EQ(sum, cur_size) << cur << " has padding";
    }
  };
#define S(s)              \
  flush();                \
  cur = #s;               \
  cur_size = sizeof(struct s); \
  sum = 0;
#define F(s, f) sum += sizeof(((struct s*)0)->f);
#define C(c)
  FSOCKET_ABI_LAYOUT(S, F, C)
#undef S
#undef F
#undef C
  flush();
}

TEST(Abi, CommandNumbersEncodeTheArgument) {
  struct Cmd {
    const char* name;
    unsigned long cmd;
    size_t size;
    unsigned nr;
  } cmds[] = {
      {"VERSION", FSOCKET_IOC_VERSION, sizeof(fsocket_version), 0},
      {"LISTEN", FSOCKET_IOC_LISTEN, sizeof(fsocket_listen_arg), 2},
      {"SHUTDOWN_LISTEN", FSOCKET_IOC_SHUTDOWN_LISTEN, sizeof(fsocket_fd_arg), 6},
      {"JOIN", FSOCKET_IOC_JOIN, sizeof(fsocket_join_arg), 9},
      {"LEAVE", FSOCKET_IOC_LEAVE, sizeof(fsocket_fd_arg), 10},
  };
  std::set<unsigned long> seen;
  for (const Cmd& c : cmds) {
    EXPECT_EQ(_IOC_TYPE(c.cmd), (unsigned)FSOCKET_IOC_MAGIC) << c.name;
    EXPECT_EQ(_IOC_DIR(c.cmd), (unsigned)(_IOC_READ | _IOC_WRITE)) << c.name;
    EXPECT_EQ(_IOC_SIZE(c.cmd), c.size) << c.name;
    EXPECT_EQ(_IOC_NR(c.cmd), c.nr) << c.name;
    EXPECT_TRUE(seen.insert(c.cmd).second) << c.name << " is a duplicate";
    EXPECT_LE(c.size, 128u) << c.name << ": the module's argument buffer is 128 bytes";
  }
}

TEST(Abi, FeatureBitsAreDistinct) {
  uint64_t bits[] = {FSOCKET_FEAT_LISTEN, FSOCKET_FEAT_SHUTDOWN_LISTEN,
                     FSOCKET_FEAT_STATS,  FSOCKET_FEAT_RFD,
                     FSOCKET_FEAT_FAST_EPOLL, FSOCKET_FEAT_JOIN,
                     FSOCKET_FEAT_LEAVE,  FSOCKET_FEAT_LISTENERS};
  // Bits 0, 2, 3, 4 and 6 belonged to commands removed in ABI v2: a v1
  // caller must never see them set.
  uint64_t removed = 0x5d;
  uint64_t all = 0;
  for (uint64_t b : bits) {
    EXPECT_EQ(b & (b - 1), 0u) << "not a single bit: " << b;
    EXPECT_EQ(all & b, 0u) << "bit used twice: " << b;
    EXPECT_EQ(removed & b, 0u) << "bit of a removed command reused: " << b;
    all |= b;
  }
}

TEST(Abi, Version2) {
  EXPECT_EQ(FSOCKET_ABI_VERSION, 2);
  EXPECT_STREQ(FSOCKET_LISTENERS_PATH, "/proc/fastsocket/listeners");
  EXPECT_GT(FSOCKET_MAX_GROUPS_PER_USER, 0);
  EXPECT_LE(FSOCKET_MAX_GROUPS_PER_USER, FSOCKET_MAX_GROUPS_PER_NET);
}

}  // namespace
