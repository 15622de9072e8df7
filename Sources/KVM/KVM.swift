// KVM: typed handles over the /dev/kvm ioctl API; the only Swift module that calls ioctl or mmap.
