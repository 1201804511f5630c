#ifndef SWIFTLET_INIT_H
#define SWIFTLET_INIT_H

// The appliance boot shim. When swiftlet-server runs as PID 1 (the /init of the VM image), a
// constructor in init.c runs before the Swift runtime and mounts what the runtime and the
// server expect to find; see Docs/appliance.md, "Boot sequence".

/// Where the data volume is mounted when the kernel command line has `swiftlet.data=DEVICE`.
#define SWIFTLET_DATA_MOUNT "/data"

/// Flushes every filesystem and ends the VM: ACPI power-off where the kernel can do it, otherwise
/// a reboot, which `qemu -no-reboot` and Firecracker-style VMMs turn into the VM exiting. Only
/// returns (with -1 and errno set) when the process may not reboot the machine, i.e. it is not
/// the VM's init.
int swiftlet_power_off(void);

#endif
