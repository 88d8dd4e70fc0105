/*  control: eqms-devsim's ZeroMQ REP endpoint for tests and scripts.
 *
 *  One JSON object per request, one per reply. Every reply has "ok"; a
 *  refused request has "ok": false and "error" with the reason. Requests
 *  (device = index 0..count-1; unknown or missing keys are refused):
 *
 *    {"op":"hello"}                         -> {"ok":true,"count":N,"dir":D,"keys":[..]}
 *    {"op":"plug","device":i}               -> {"ok":true,"bus":B,"dev":D}
 *    {"op":"unplug","device":i}             -> {"ok":true}
 *    {"op":"key","device":i,"key":K,"pressed":bool}  raw level now
 *    {"op":"press","device":i,"key":K[,"delay_ms":n]} queued press
 *    {"op":"keys","device":i,"keys":[K,..]} queued presses in order
 *    {"op":"login","device":i,"employee":"1234"}  the digits, then OK
 *    {"op":"logout","device":i}             Login key
 *    {"op":"service","device":i[,"rate":k][,"service_ms":n]
 *          [,"rate_after_ms":n][,"call":bool]}
 *          [Call,] Start, End after service_ms, rating key k (1..6) after
 *          rate_after_ms; rate 0 = customer leaves without rating
 *    {"op":"clear","device":i}              drops queued presses
 *    {"op":"state","device":i}              -> {"ok":true,"serial":..,"plugged":..,
 *          "bus":..,"dev":..,"state":"idle","state_code":1,"ring_used":n,
 *          "stats":{"reports_sent":..,"commands_applied":..,"commands_rejected":..,
 *          "presses_suppressed":..,"presses_refused":..},
 *          "lcd":[{"hex":..,"text":..},x4],"stars":n,"last_prompt":n,"prompts":n,
 *          "queued":n,"usb":{"in_reports":..,"out_reports":..,"clients":..},
 *          "raw_sent":n,"mutated_sent":n}
 *    {"op":"states"}                        -> {"ok":true,"devices":[state..]}
 *    {"op":"raw","device":i,"hex":"0102.."} one IN report of 1..64 bytes as is
 *    {"op":"mutate","device":i,"match":t[,"type":u][,"version":v]}
 *          a newer firmware: the next stored event of type t (and its
 *          resends) is sent with type u and/or version v; match 0 ends it
 *    {"op":"model"[,"enable":bool]}         -> {"ok":true,"enabled":..,"stats":{..}}
 *
 *  K is a key name of devsim_key_parse ("0".."9", "login", "call", "start",
 *  "end", "recall", "pause", "ok", "rate1".."rate6").
 */
#ifndef EQMS_CONTROL_H
#define EQMS_CONTROL_H

#include "devsim.h"
#include "model.h"

typedef struct control_t control_t;

/* Binds a REP socket on `endpoint`. `model` may be NULL. NULL on failure. */
control_t *control_new(devsim_t *sim, model_t *model, const char *endpoint);
void control_destroy(control_t **self_p);

/* Answers every request waiting, without blocking. */
void control_poll(control_t *self);

/* Answers one request text (for tests); returns a new string (g_free). */
char *control_handle(control_t *self, const char *request);

#endif
