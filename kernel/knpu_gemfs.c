// SPDX-License-Identifier: GPL-2.0-only
/*
 * Copyright (C) 2026 The knpu authors
 *
 * Host-memory buffers on 2 MiB pages: a private tmpfs mount with
 * huge=within_size, as i915 (i915_gemfs.c) and v3d (v3d_gemfs.c) have. A
 * buffer's pages then come in 2 MiB folios wherever its size covers one,
 * each physically contiguous and 2 MiB aligned, so the MMU maps it with
 * one 2 MiB leaf (knpu_mmu.c) and the device moves it in 2 MiB runs
 * instead of one 4 KiB page, one walk and one access at a time. Where the
 * kernel finds no free 2 MiB block (fragmentation), shmem falls back to
 * 4 KiB pages for that part of the buffer, and the MMU maps those as before.
 */

#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/shmem_fs.h>

#include <drm/drm_gem.h>
#include <drm/drm_managed.h>
#include <drm/drm_print.h>

#include "knpu_drv.h"
#include "knpu_gemfs.h"

static bool knpu_huge_pages = true;
module_param_named(huge_pages, knpu_huge_pages, bool, 0444);
MODULE_PARM_DESC(huge_pages,
		 "Back host-memory buffers with 2 MiB pages where possible (default: true)");

static void knpu_gemfs_fini(struct drm_device *drm, void *data)
{
	kern_unmount(to_knpu_device(drm)->gemfs);
}

/**
 * knpu_gemfs_init() - mount the device's tmpfs for host-memory buffers
 * @kdev: the device
 *
 * Without transparent huge pages, or with huge_pages=0, there is no mount
 * and buffers come from the shmem helper's default one (4 KiB pages); a
 * mount that fails is reported and likewise left out.
 *
 * Return: 0, or -ENOMEM when the release action cannot be registered.
 */
int knpu_gemfs_init(struct knpu_device *kdev)
{
	char huge_opt[] = "huge=within_size"; /* parsed in place */
	struct file_system_type *type;
	struct vfsmount *mnt;

	if (!knpu_huge_pages || !has_transparent_hugepage())
		return 0;

	type = get_fs_type("tmpfs");
	if (!type)
		return 0;
	/* tmpfs is built in: get_fs_type() took no module reference. */
	mnt = vfs_kern_mount(type, SB_KERNMOUNT, type->name, huge_opt);
	if (IS_ERR(mnt)) {
		drm_notice(&kdev->drm, "no tmpfs with huge pages (%pe): buffers on 4 KiB pages\n",
			   mnt);
		return 0;
	}

	kdev->gemfs = mnt;
	return drmm_add_action_or_reset(&kdev->drm, knpu_gemfs_fini, NULL);
}

/**
 * knpu_gemfs_attach() - move a new shmem buffer's backing file to the mount
 * @kdev: the device
 * @obj: the buffer, just created by drm_gem_shmem_create(), no page allocated
 *
 * The Debian 6.12 kernel has no drm_gem_shmem_create_with_mnt() (newer
 * kernels' way for v3d); until it does, the file drm_gem_object_init()
 * created on the default shmem mount is replaced by one of the same size on
 * ours, with the shmem helper's allocation flags, before anything uses it.
 * No-op without the mount.
 *
 * Return: 0, or the negative errno of the file's creation (the buffer then
 * keeps its first file).
 */
int knpu_gemfs_attach(struct knpu_device *kdev, struct drm_gem_object *obj)
{
	struct file *filp;

	if (!kdev->gemfs)
		return 0;

	filp = shmem_file_setup_with_mnt(kdev->gemfs, "knpu", obj->size, VM_NORESERVE);
	if (IS_ERR(filp))
		return PTR_ERR(filp);

	mapping_set_gfp_mask(filp->f_mapping, mapping_gfp_mask(obj->filp->f_mapping));
	fput(obj->filp);
	obj->filp = filp;
	return 0;
}
