/*
 * KNPU: a PCIe neural processing unit (inference accelerator).
 *
 * This is the reference model of the device described in docs/hw-spec.md
 * (v1.0); register names and numbers come from knpu-hw.h. This file holds
 * the QOM type: properties, realize and exit, PCI configuration space and
 * the resets. knpu-internal.h says which file does what and how the
 * threads and locks work together.
 *
 * Copyright (c) 2026 The knpu authors
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "exec/cpu-common.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "trace.h"
#include "knpu-internal.h"

/* The first (and only) PCIe extended capability. */
#define KNPU_AER_OFFSET         0x100
#define KNPU_DEVMEM_MIN         (16 * MiB)
#define KNPU_DEVMEM_MAX         (16 * GiB)

/*
 * Soft reset, FLR and power-on reset (section 9). Waits for the workers to
 * leave every job: afterwards nothing submitted before touches memory.
 */
void knpu_reset_locked(KnpuState *s, bool power_on)
{
    knpu_queues_reset_locked(s);
    knpu_irq_reset_locked(s);

    s->scratch = 0;
    s->dev_ctrl = 0;
    s->event_mask = 0;
    knpu_mmu_reset_locked(s);
    memset(s->latch, 0, sizeof(s->latch));
    s->fatal = false;

    if (power_on) {
        s->removed = false;
        s->event_status = 0;
        knpu_telemetry_reset_locked(s);
    } else {
        knpu_event_locked(s, KNPU_EVENT_RESET_DONE);
    }
}

static void knpu_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                              int len)
{
    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
}

static void knpu_reset(DeviceState *dev)
{
    KnpuState *s = KNPU(dev);
    PCIDevice *pdev = PCI_DEVICE(dev);
    /* pcie_cap_flr_write_config() leaves BCR_FLR set while we run. */
    bool flr = pci_get_word(pdev->config + pdev->exp.exp_cap +
                            PCI_EXP_DEVCTL) & PCI_EXP_DEVCTL_BCR_FLR;

    trace_knpu_reset(flr ? "flr" : "power-on");
    pcie_cap_deverr_reset(pdev);
    qemu_mutex_lock(&s->lock);
    knpu_reset_locked(s, !flr);
    if (!flr) {
        knpu_apply_boot_injections_locked(s);
    }
    qemu_mutex_unlock(&s->lock);
    if (!flr && s->devmem_ptr) {
        /* Power-on: device memory reads as zero (cheaply, when possible). */
        if (ram_block_discard_range(s->devmem.ram_block, 0,
                                    s->devmem_size) < 0) {
            memset(s->devmem_ptr, 0, s->devmem_size);
        }
    }
}

static bool knpu_check_props(KnpuState *s, Error **errp)
{
    if (s->num_cores < 1 || s->num_cores > KNPU_MAX_CORES) {
        error_setg(errp, "cores must be 1 to %d", KNPU_MAX_CORES);
        return false;
    }
    if (s->num_queues < 1 || s->num_queues > KNPU_MAX_QUEUES) {
        error_setg(errp, "queues must be 1 to %d", KNPU_MAX_QUEUES);
        return false;
    }
    if (s->devmem_size < KNPU_DEVMEM_MIN || s->devmem_size > KNPU_DEVMEM_MAX ||
        !is_power_of_2(s->devmem_size)) {
        error_setg(errp, "devmem-size must be a power of two from 16 MiB to "
                   "16 GiB");
        return false;
    }
    if (s->boot_inject_hang >= (int32_t)s->num_queues ||
        s->boot_inject_mmu_fault >= (int32_t)s->num_queues) {
        error_setg(errp, "inject-*-queue: no such queue");
        return false;
    }
    if (!s->sram_size || (s->sram_size & (KNPU_PAGE_SIZE - 1)) ||
        s->sram_size > 2 * GiB) {
        error_setg(errp, "sram-size must be a non-zero multiple of 4 KiB up "
                   "to 2 GiB");
        return false;
    }
    if (s->prim_cache > KNPU_PRIM_CACHE_MAX) {
        error_setg(errp, "prim-cache must be 0 to %d", KNPU_PRIM_CACHE_MAX);
        return false;
    }
    return true;
}

static void knpu_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    KnpuState *s = KNPU(pdev);

    if (!knpu_check_props(s, errp)) {
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 0);
    pcie_endpoint_cap_init(pdev, 0x80);
    pcie_cap_deverr_init(pdev);
    pcie_cap_flr_init(pdev);

    memory_region_init_io(&s->mmio, OBJECT(s), &knpu_mmio_ops, s,
                          "knpu-regs", KNPU_REGS_SIZE);
    pci_register_bar(pdev, KNPU_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY,
                     &s->mmio);

    memory_region_init_ram(&s->devmem, OBJECT(s), "knpu-devmem",
                           s->devmem_size, errp);
    if (*errp) {
        return;
    }
    s->devmem_ptr = memory_region_get_ram_ptr(&s->devmem);
    pci_register_bar(pdev, KNPU_BAR_DEVMEM, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64 |
                     PCI_BASE_ADDRESS_MEM_PREFETCH, &s->devmem);

    if (!knpu_dnnl_cache_resize(s->prim_cache)) {
        error_setg(errp, "knpu: cannot create the oneDNN CPU engine");
        return;
    }
    if (!knpu_irq_init(s, errp)) {
        knpu_dnnl_cache_resize(-(int)s->prim_cache);
        return;
    }
    /* The guest's AER recovery is tested with HMP pcie_aer_inject_error. */
    if (pcie_aer_init(pdev, PCI_ERR_VER, KNPU_AER_OFFSET, PCI_ERR_SIZEOF,
                      errp) < 0) {
        knpu_irq_exit(s);
        knpu_dnnl_cache_resize(-(int)s->prim_cache);
        return;
    }
    s->clock_base = knpu_now();
    s->load_time = s->clock_base;
    s->tlb_epoch = 1;       /* 0 means "no access section" */

    /* Jobs touch no guest memory while the VM is stopped. */
    s->paused = !runstate_is_running();
    s->vm_state = qemu_add_vm_change_state_handler(knpu_vm_state_change, s);
    knpu_cores_start(s);
}

static void knpu_exit(PCIDevice *pdev)
{
    KnpuState *s = KNPU(pdev);

    qemu_del_vm_change_state_handler(s->vm_state);
    knpu_cores_stop(s);
    pcie_aer_exit(pdev);
    knpu_irq_exit(s);
    knpu_dnnl_cache_resize(-(int)s->prim_cache);
}

static void knpu_instance_init(Object *obj)
{
    KnpuState *s = KNPU(obj);
    unsigned i;

    /* Fault-injection properties may be set before realize. */
    qemu_mutex_init(&s->lock);
    qemu_mutex_init(&s->access_lock);
    qemu_cond_init(&s->access_cond);
    for (i = 0; i < KNPU_MAX_CORES; i++) {
        qemu_cond_init(&s->cores[i].wake);
    }
    qemu_cond_init(&s->abort_cond);
    qemu_cond_init(&s->idle_cond);
    s->boot_inject_hang = -1;
    s->boot_inject_mmu_fault = -1;
}

static void knpu_instance_finalize(Object *obj)
{
    KnpuState *s = KNPU(obj);
    unsigned i;

    for (i = 0; i < KNPU_MAX_CORES; i++) {
        qemu_cond_destroy(&s->cores[i].wake);
    }
    qemu_cond_destroy(&s->abort_cond);
    qemu_cond_destroy(&s->idle_cond);
    qemu_cond_destroy(&s->access_cond);
    qemu_mutex_destroy(&s->access_lock);
    qemu_mutex_destroy(&s->lock);
}

/*
 * Not migratable yet: jobs in flight live on worker threads (a job can be
 * anywhere in its program, or waiting on a semaphore), and there is no
 * point at which their state could be captured short of draining them.
 * Migration needs a quiesce protocol first.
 */
static const VMStateDescription knpu_vmstate = {
    .name = "knpu",
    .unmigratable = 1,
};

static Property knpu_properties[] = {
    DEFINE_PROP_UINT32("cores", KnpuState, num_cores, 4),
    DEFINE_PROP_UINT32("queues", KnpuState, num_queues, 16),
    DEFINE_PROP_SIZE("devmem-size", KnpuState, devmem_size, 256 * MiB),
    DEFINE_PROP_UINT32("sram-size", KnpuState, sram_size, 4 * MiB),
    DEFINE_PROP_UINT64("serial", KnpuState, serial, 0x4b4e505500000001ull),
    DEFINE_PROP_UINT32("prim-cache", KnpuState, prim_cache,
                       KNPU_PRIM_CACHE_DEFAULT),
    /* Experimental: jobs run from a virtual-clock timer (knpu-internal.h). */
    DEFINE_PROP_BOOL("x-deterministic", KnpuState, deterministic, false),
    DEFINE_PROP_END_OF_LIST(),
};

static void knpu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);
    k->realize = knpu_realize;
    k->exit = knpu_exit;
    k->config_write = knpu_write_config;
    k->vendor_id = KNPU_VENDOR_ID;
    k->device_id = KNPU_DEVICE_ID;
    k->revision = KNPU_REVISION;
    k->class_id = KNPU_CLASS_ACCEL;
    k->subsystem_vendor_id = KNPU_SUBSYS_VENDOR_ID;
    k->subsystem_id = KNPU_SUBSYS_ID;
    dc->desc = "KNPU neural processing unit";
    dc->reset = knpu_reset;
    dc->vmsd = &knpu_vmstate;
    device_class_set_props(dc, knpu_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    knpu_inject_class_init(klass);
}

static const TypeInfo knpu_info = {
    .name = TYPE_KNPU,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(KnpuState),
    .instance_init = knpu_instance_init,
    .instance_finalize = knpu_instance_finalize,
    .class_init = knpu_class_init,
    .interfaces = (InterfaceInfo[]) {
        { INTERFACE_PCIE_DEVICE },
        { }
    },
};

static void knpu_register_types(void)
{
    type_register_static(&knpu_info);
}

type_init(knpu_register_types)
