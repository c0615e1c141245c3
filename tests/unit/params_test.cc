// Invariants of the module parameter table (uapi/fastsocket_params.h), read
// by the module, the CLI and these tests.
#include <stdlib.h>

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fastsocket_params.h"

namespace {

struct Param {
  std::string name;
  long def, min, max;
  std::string allowed, desc;
};

std::vector<Param> Table() {
  std::vector<Param> v;
#define X(name, def, min, max, allowed, desc) \
  v.push_back({#name, def, min, max, allowed, desc});
  FSOCKET_PARAMS(X)
#undef X
  return v;
}

TEST(Params, EightParameters) {
  EXPECT_EQ(Table().size(), 8u);
  EXPECT_EQ(FSOCKET_NR_PARAMS, 8);
}

TEST(Params, NamesUniqueAndPrefixed) {
  std::set<std::string> names;
  for (const Param& p : Table()) {
    EXPECT_TRUE(names.insert(p.name).second) << p.name << " twice";
    EXPECT_EQ(p.name.rfind("enable_", 0), 0u) << p.name;
  }
}

TEST(Params, DefaultWithinRange) {
  for (const Param& p : Table()) {
    EXPECT_LE(p.min, p.def) << p.name;
    EXPECT_LE(p.def, p.max) << p.name;
  }
}

TEST(Params, MatchSeedDefaults) {
  // The original module's names and defaults (seed document).
  std::map<std::string, long> seed = {
      {"enable_fastsocket_debug", 3},  {"enable_listen_spawn", 2},
      {"enable_receive_flow_deliver", 0}, {"enable_fast_epoll", 1},
      {"enable_direct_tcp", 0},        {"enable_skb_pool", 0},
      {"enable_receive_cpu_selection", 0}, {"enable_socket_pool_size", 0},
  };
  auto table = Table();
  ASSERT_EQ(table.size(), seed.size());
  for (const Param& p : table) {
    ASSERT_TRUE(seed.count(p.name)) << p.name << " is not a seed parameter";
    EXPECT_EQ(p.def, seed[p.name]) << p.name;
  }
  // The seed's ranges where it states them.
  for (const Param& p : table) {
    if (p.name == "enable_listen_spawn") {
      EXPECT_EQ(p.max, 2);
    }
    if (p.name == "enable_skb_pool") {
      EXPECT_EQ(p.max, 3);
    }
  }
}

TEST(Params, AllowedTextMatchesRange) {
  // The text the module prints on a bad value must say exactly min..max.
  std::regex range("^(-?[0-9]+)\\.\\.(-?[0-9]+)$");
  std::regex number("-?[0-9]+");
  for (const Param& p : Table()) {
    std::smatch m;
    if (std::regex_match(p.allowed, m, range)) {
      EXPECT_EQ(atol(m[1].str().c_str()), p.min) << p.name;
      EXPECT_EQ(atol(m[2].str().c_str()), p.max) << p.name;
      continue;
    }
    std::vector<long> vals;
    for (auto it = std::sregex_iterator(p.allowed.begin(), p.allowed.end(), number);
         it != std::sregex_iterator(); ++it)
      vals.push_back(atol(it->str().c_str()));
    ASSERT_FALSE(vals.empty()) << p.name << ": '" << p.allowed << "'";
    for (size_t i = 0; i < vals.size(); i++)
      EXPECT_EQ(vals[i], p.min + (long)i) << p.name << ": '" << p.allowed << "'";
    EXPECT_EQ(vals.back(), p.max) << p.name << ": '" << p.allowed << "'";
  }
}

TEST(Params, DescriptionStatesTheDefault) {
  for (const Param& p : Table()) {
    std::string want = "(default " + std::to_string(p.def) + ")";
    EXPECT_NE(p.desc.find(want), std::string::npos)
        << p.name << ": '" << p.desc << "' lacks " << want;
  }
}

}  // namespace
