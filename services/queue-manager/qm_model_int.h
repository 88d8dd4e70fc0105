/*  qm_model_int: private header of qm_model (qm_model.c, qm_decide.c, qm_query.c).
 *
 *  NOT for other modules: everything else uses qm_model.h. It holds the branch's
 *  struct definitions and the internal helpers that more than one of the three
 *  files call. Names here:
 *
 *    qm_int_*_t   the internal record types (heap, ticket, queue, service,
 *                 window, teller pool);
 *    qm_int_*()   shared internal helpers, defined in the file noted on each;
 *    NPOS, H_*    "no index" and the per-service heap slots.
 *
 *  Helpers that only one file uses stay `static` (s_*) in that file.
 *  Tickets, queues and services are referred to by index (size_t) into the
 *  branch's arrays, NPOS meaning none.
 */
#ifndef QM_MODEL_INT_H
#define QM_MODEL_INT_H

#include "qm_model.h"

#define NPOS ((size_t) -1)

/* Heaps of waiting tickets per service, by kind. */
enum { H_GREEN, H_APPT, H_VIP, H_ORD, H_COUNT };

/* A min-heap of ticket indices: by (appointment_ms,) original_ms, issue order. */
typedef struct {
    size_t *items;
    size_t count, cap;
    bool by_appointment;
} qm_int_heap_t;

typedef struct {
    char id[ID_SIZE];
    char number[QM_NUMBER_SIZE];
    int number_seq;
    size_t queue;                  /* queue of the number (kept across transfers) */
    size_t service;
    qm_class_t klass;
    qm_ticket_state_t state;
    int64_t appointment_ms;
    char phone[QM_PHONE_SIZE];
    int64_t issued_ms, original_ms;
    qm_target_t target;
    int64_t target_id;
    int64_t window_id, staff_id;
    int recall;
    int64_t called_ms, started_ms, finished_ms;
    qm_int_heap_t *heap;                /* while waiting: the heap it is in */
    size_t hpos;
} qm_int_ticket_t;

typedef struct {
    qm_queue_cfg_t cfg;
    int last_number;               /* 0 = none issued today */
    size_t *live;                  /* number -> live ticket, NPOS = free */
    size_t *latest;                /* number -> last ticket issued with it */
} qm_int_queue_t;

typedef struct {
    qm_service_cfg_t cfg;
    size_t queue;
    qm_int_heap_t heaps[H_COUNT];
    int64_t avg_ms;
} qm_int_service_t;

typedef struct {
    int64_t id;
    int number;
    char name[QM_NAME_SIZE];
    qm_window_state_t state;
    char pause_reason[QM_DETAIL_SIZE];
    int64_t staff_id;
    size_t current;                /* ticket, NPOS = none */
    qm_profile_t profile;
    size_t services[QM_PROFILE_MAX];   /* profile services as indices */
    int rotation[QM_ROTATION_KEYS];
    qm_int_heap_t targeted;             /* transferred to this window */
    size_t *parked;                /* in parking order */
    size_t parked_count, parked_cap;
    int64_t since_ms;              /* last change of state, teller or current
                                      ticket (set by qm_apply); 0 = none today */
} qm_int_window_t;

typedef struct {
    int64_t staff_id;
    qm_int_heap_t heap;                 /* transferred to this teller */
} qm_int_pool_t;

struct qm_journal_t {
    qm_event_t *items;
    size_t count, cap;
};

struct qm_branch_t {
    qm_settings_t settings;
    int day;
    int64_t last_seq;
    qm_int_queue_t *queues;
    size_t queue_count;
    qm_int_service_t *services;
    size_t service_count;
    qm_int_window_t **windows;
    size_t window_count, window_cap;
    qm_int_pool_t **pools;
    size_t pool_count, pool_cap;
    qm_int_ticket_t *tickets;
    size_t ticket_count, ticket_cap;
    size_t *map;                   /* id hash: ticket index + 1, 0 = empty */
    size_t map_cap;
    qm_hall_t *hall;
};

/* ---- qm_model.c ----------------------------------------------------------- */

/* Whether x comes before y in heap h: (appointment,) original time, issue order. */
bool qm_int_before(const qm_branch_t *b, const qm_int_heap_t *h, size_t x, size_t y);

/* A ticket of today by id, NPOS if none. */
size_t qm_int_map_find(const qm_branch_t *b, const char *id);

/* Checks a window's number and name, and maps its profile's services. */
qm_err_t qm_int_window_check(const qm_branch_t *b, const qm_window_cfg_t *cfg,
                             size_t services[QM_PROFILE_MAX], char reason[QM_REASON_SIZE]);

/* Whether a ticket in that state is still live (waiting, called, serving, parked). */
bool qm_int_live(qm_ticket_state_t state);

/* ---- qm_decide.c ---------------------------------------------------------- */

/* The next number of queue q, or -1 when all are live. */
int qm_int_next_number(const qm_branch_t *b, size_t q);

/* The first ticket of heap h as a pick sees it, NPOS if none: the heap's
 * own top (qm_int_heap_top, ctx unused), or an estimate's view of the heap
 * with the tickets it already gave to windows taken out (qm_estimate.c). */
typedef size_t (qm_int_top_fn)(void *ctx, const qm_int_heap_t *h);
size_t qm_int_heap_top(void *ctx, const qm_int_heap_t *h);

/* What call next takes at window w at time `now` (qm_rules.h for the
 * order: green, transferred to the window or its teller, due appointments,
 * then the window's strategy; `rotation` its weighted rotation counters),
 * reading heaps through top_of. NPOS if nothing; *via tells why. */
size_t qm_int_pick(const qm_branch_t *b, const qm_int_window_t *w,
                   const int rotation[QM_ROTATION_KEYS], int64_t now, qm_int_top_fn *top_of,
                   void *ctx, qm_via_t *via);

/* ---- qm_query.c ----------------------------------------------------------- */

/* Index of the service / queue by id, NPOS if none. */
size_t qm_int_service_find(const qm_branch_t *b, int64_t id);
size_t qm_int_queue_find(const qm_branch_t *b, int64_t id);

/* The window by id, the window where a teller is logged in, the teller's
 * transfer pool; NULL if none. */
qm_int_window_t *qm_int_window_find(const qm_branch_t *b, int64_t id);
qm_int_window_t *qm_int_window_of_staff(const qm_branch_t *b, int64_t staff_id);
qm_int_pool_t *qm_int_pool_find(const qm_branch_t *b, int64_t staff_id);

/* Whether window w's profile lists service (an index). */
bool qm_int_window_serves(const qm_int_window_t *w, size_t service);

/* Whether window w calls tickets now: open (not paused) with a teller. */
bool qm_int_window_calls(const qm_int_window_t *w);

/* Windows that call tickets now and whose profile lists `service`. */
size_t qm_int_windows_serving(const qm_branch_t *b, size_t service);

/* A ticket of today by id or number text, NPOS if none. */
size_t qm_int_ticket_ref(const qm_branch_t *b, const char *ref);

#endif
