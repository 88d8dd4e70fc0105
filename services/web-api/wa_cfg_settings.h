/*  wa_cfg_settings: the device settings of an organisation node (issue 14
 *  item 4: timing and the idle screen's text), under manage_devices.
 *
 *  GET /nodes/{id}/settings shows, for each setting (rating_timeout_s,
 *  repeat_press_s, rating_scale, idle_text), the node's own value (null:
 *  inherited), the value in force there (effective_settings) and the node it
 *  comes from (null: the built-in default). PATCH sets or clears (null) each
 *  one, audited as `node_settings.update` with the settings before and
 *  after; the registry snapshot of every branch at or below the node is then
 *  published (wa_cfg_changed), so that the devices show it.
 */
#ifndef EQMS_WA_CFG_SETTINGS_H
#define EQMS_WA_CFG_SETTINGS_H

#include "wa.h"

void wa_cfg_settings_get(wa_call_t *call);
void wa_cfg_settings_update(wa_call_t *call);

#endif
