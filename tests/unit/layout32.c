/*
 * Compiled with -m32 only (never linked, never run): the sizes, alignments,
 * field offsets and command numbers a 32-bit caller sees, stored as an array
 * of 32-bit words in section .fsocket_layout, which the build extracts with
 * objcopy for abi_test.cc to compare with the 64-bit values.
 */
#include <stddef.h>

#include "fastsocket.h"
#include "abi_layout.h"

_Static_assert(sizeof(void *) == 4, "layout32.c must be compiled with -m32");

#define S(s) sizeof(struct s), _Alignof(struct s),
#define F(s, f) offsetof(struct s, f), sizeof(((struct s *)0)->f),
#define C(c) (unsigned int)(c),

__attribute__((section(".fsocket_layout"), used))
const unsigned int fsocket_layout32[] = { FSOCKET_ABI_LAYOUT(S, F, C) };
