/*  sn_livestate: checks queue-manager's branch.state reply (docs/protocol.md,
 *  "branch.state") before sn_live keeps it in alert_live.
 *
 *  The threshold functions of schema 28 cast its members (`waiting` to an
 *  integer, `since` to a time): one reply of the wrong form would make
 *  alert_threshold_members() fail for every rule and branch every second.
 *  So a reply is kept only when every member those functions read has its
 *  documented type: queues[] {id, waiting >= 0, oldest time or null},
 *  windows[] {id, number, state open|closed|paused, staff / service id or
 *  null, current string or null, pause_reason string or null, waiting >= 0,
 *  since / called / started time or null}. Other members are not looked at.
 */
#ifndef EQMS_SN_LIVESTATE_H
#define EQMS_SN_LIVESTATE_H

#include <jansson.h>
#include <stddef.h>

/* 0 if `state` may be kept; -1 with the reason (naming the member). */
int sn_livestate_check(const json_t *state, char *reason, size_t size);

#endif
