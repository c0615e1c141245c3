// SPDX-License-Identifier: GPL-2.0
// fastsocket.ko as seen from user space: /sys/module/fastsocket and
// modprobe.  Everything goes through the Root (files and commands), so tests
// fake the module with a CommandRunner.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "system/root.h"

namespace fsock {

class ModuleControl {
public:
	virtual ~ModuleControl() = default;
	virtual bool loaded() const = 0;
	// /sys/module/fastsocket/refcnt: open fds of /dev/fastsocket and sockets.
	virtual std::optional<long> refcnt() const = 0;
	virtual std::optional<std::string> version() const = 0;
	// name -> live value, from /sys/module/fastsocket/parameters/.
	virtual std::map<std::string, std::string> parameters() const = 0;
	virtual bool unload(std::string *err) = 0;
	virtual bool load(std::string *err) = 0;
};

class SysfsModuleControl : public ModuleControl {
public:
	// modprobe is $FASTSOCKET_MODPROBE when set, else "modprobe".
	explicit SysfsModuleControl(const Root &root);
	bool loaded() const override;
	std::optional<long> refcnt() const override;
	std::optional<std::string> version() const override;
	std::map<std::string, std::string> parameters() const override;
	bool unload(std::string *err) override;
	bool load(std::string *err) override;

private:
	const Root &root_;
	std::string modprobe_;
};

extern const char *const kModuleSysDir;	 // /sys/module/fastsocket
extern const char *const kModprobeConf;	 // /etc/modprobe.d/fastsocket.conf

} // namespace fsock
