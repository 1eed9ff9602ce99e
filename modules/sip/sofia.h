/* SPDX-License-Identifier: Apache-2.0
 *
 * sofia.h: the one place that includes sofia-sip's headers, with the magic
 * types of this module bound first (su_root, nua and su_msg carry our own
 * structs instead of void). sofia's headers are older C than ours, so the
 * warnings they would raise under our flags are silenced here, around the
 * includes only. Only sip_ua.c and sdp.c include this file.
 */
#ifndef MFX_SOFIA_H
#define MFX_SOFIA_H

struct mfx_sip_ua;
struct sip_call;
struct sip_cmd;
#define SU_ROOT_MAGIC_T struct mfx_sip_ua
#define NUA_MAGIC_T struct mfx_sip_ua
#define NUA_HMAGIC_T struct sip_call
#define SU_MSG_ARG_T struct sip_cmd

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include <sofia-sip/su.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_md5.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/sdp.h>
#include <sofia-sip/auth_digest.h>
#include <sofia-sip/tport_tag.h>
#pragma GCC diagnostic pop

#endif
