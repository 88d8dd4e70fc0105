/*  wa_cfg_devices: the rating devices of the caller's subtree (issue 14
 *  item 5), under manage_devices: registered by serial and model into the
 *  stock of a node, assigned to a window, taken off it, or replaced by
 *  another (the broken one leaves the window and the new one takes it in one
 *  transaction, audited as one action). Every answer shows the device's live
 *  state as the gateways last reported it (device_status: online, offline or
 *  unassigned, since when, through which gateway) and its firmware version.
 *
 *  A device belongs to a node (device.node_id, schema 32): its window's
 *  branch while assigned, else the stock it was registered into or last
 *  taken off at; the caller sees it when that node is in their subtree.
 *  Serials a gateway reported that are not registered (device_status only)
 *  are listed too, as unassigned and `registered: false`, to whoever sees
 *  the branch that reported them.
 *
 *  An assignment or a replacement publishes the registry snapshot of the
 *  branches concerned (wa_cfg_changed), so that their gateways serve the
 *  device at once.
 *
 *  Routes: GET/POST /devices, GET /devices/{id}, POST /devices/{id}/assign,
 *  /unassign, /replace; GET /branches/{branch}/devices (view_live_hall).
 */
#ifndef EQMS_WA_CFG_DEVICES_H
#define EQMS_WA_CFG_DEVICES_H

#include "wa.h"

void wa_cfg_devices_list(wa_call_t *call);
void wa_cfg_devices_create(wa_call_t *call);
void wa_cfg_devices_get(wa_call_t *call);
void wa_cfg_devices_assign(wa_call_t *call);
void wa_cfg_devices_unassign(wa_call_t *call);
void wa_cfg_devices_replace(wa_call_t *call);

/* Every device of one branch with its window and live state (view_live_hall). */
void wa_cfg_devices_of_branch(wa_call_t *call);

#endif
