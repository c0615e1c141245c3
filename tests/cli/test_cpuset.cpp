// SPDX-License-Identifier: GPL-2.0
#include <gtest/gtest.h>

#include "system/cpuset.h"

using fsock::CpuSet;

static CpuSet list(const std::string &s)
{
	CpuSet c;
	std::string err;
	EXPECT_TRUE(CpuSet::parse_list(s, &c, &err)) << s << ": " << err;
	return c;
}

TEST(CpuSet, ParsesAndPrintsLists)
{
	EXPECT_EQ(list("0-3,8,10-11").to_list(), "0-3,8,10-11");
	EXPECT_EQ(list(" 3,1,2 ,0\n").to_list(), "0-3");
	EXPECT_EQ(list("").to_list(), "");
	EXPECT_EQ(list("129").count(), 1u);
	EXPECT_EQ(list("0-129").count(), 130u);
	CpuSet c;
	std::string err;
	EXPECT_FALSE(CpuSet::parse_list("3-1", &c, &err));
	EXPECT_NE(err.find("ends before"), std::string::npos);
	EXPECT_FALSE(CpuSet::parse_list("0-a", &c, &err));
	EXPECT_FALSE(CpuSet::parse_list("1,,2", &c, &err));
}

// The kernel's %*pb: the most significant group has nbits % 32 bits.
TEST(CpuSet, MaskFormatMatchesSysfsFor2Cpus)
{
	EXPECT_EQ(list("0-1").to_mask(2), "3");
	EXPECT_EQ(list("1").to_mask(2), "2");
	EXPECT_EQ(CpuSet().to_mask(2), "0");
}

TEST(CpuSet, MaskFormatMatchesSysfsFor48Cpus)
{
	EXPECT_EQ(list("0-47").to_mask(48), "ffff,ffffffff");
	EXPECT_EQ(list("0,32,47").to_mask(48), "8001,00000001");
	EXPECT_EQ(CpuSet().to_mask(48), "0000,00000000");
}

TEST(CpuSet, MaskFormatMatchesSysfsFor64And130Cpus)
{
	EXPECT_EQ(list("0-63").to_mask(64), "ffffffff,ffffffff");
	EXPECT_EQ(list("63").to_mask(64), "80000000,00000000");
	EXPECT_EQ(list("0-129").to_mask(130), "3,ffffffff,ffffffff,ffffffff,ffffffff");
	EXPECT_EQ(list("129").to_mask(130), "2,00000000,00000000,00000000,00000000");
	EXPECT_EQ(list("0,64,128").to_mask(130), "1,00000000,00000001,00000000,00000001");
	EXPECT_EQ(list("0-3").to_mask(8), "0f");
}

TEST(CpuSet, ParsesMasksOfAnyWidth)
{
	CpuSet c;
	std::string err;
	ASSERT_TRUE(CpuSet::parse_mask("3,ffffffff,ffffffff,ffffffff,ffffffff\n", &c, &err)) << err;
	EXPECT_EQ(c.to_list(), "0-129");
	ASSERT_TRUE(CpuSet::parse_mask("00000000,0000000f", &c, &err));
	EXPECT_EQ(c.to_list(), "0-3");
	ASSERT_TRUE(CpuSet::parse_mask("f", &c, &err));
	EXPECT_EQ(c, list("0-3"));
	EXPECT_FALSE(CpuSet::parse_mask("fffffffff", &c, &err)); // 9 digits in a group
	EXPECT_FALSE(CpuSet::parse_mask("xyz", &c, &err));
	// Round trip for every width.
	for (unsigned n : {1u, 2u, 31u, 32u, 33u, 48u, 64u, 65u, 130u, 256u}) {
		CpuSet all;
		for (unsigned i = 0; i < n; i += 3)
			all.set(i);
		CpuSet back;
		ASSERT_TRUE(CpuSet::parse_mask(all.to_mask(n), &back, &err)) << n;
		EXPECT_EQ(back, all) << n;
	}
}
