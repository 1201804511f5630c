// The libvirt C API (Debian package libvirt-dev), for `swiftlet run --backend libvirt`.
#include <libvirt/libvirt.h>
#include <libvirt/libvirt-qemu.h>
#include <libvirt/virterror.h>
