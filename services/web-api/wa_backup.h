/*  wa_backup: backups of a subtree's data (permission backup; docs/backup.md).
 *
 *  POST /api/v1/backups {"node": path} asks for one (202 with the job, run
 *  by wa_jobs; the caller's own node without "node"; a root's backup is
 *  whole: it also holds the rows of no node), audited; GET /api/v1/backups
 *  lists those of the caller's subtree, GET /api/v1/backups/{id} tells a
 *  job's state and progress, GET /api/v1/backups/{id}/archive downloads the
 *  archive (streamed; 409 until the job is completed), audited. A job of
 *  another subtree answers 404.
 */
#ifndef EQMS_WA_BACKUP_H
#define EQMS_WA_BACKUP_H

#include "wa.h"

void wa_backup_create(wa_call_t *call);
void wa_backup_list(wa_call_t *call);
void wa_backup_get(wa_call_t *call);
void wa_backup_archive(wa_call_t *call);

#endif
