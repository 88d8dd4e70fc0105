/*  sn_livestate: the branch.state reply checked before it is kept
 *  (sn_livestate.h). */
#include "sn_livestate.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "eqms/clock.h"

typedef enum { S_ID, S_ID_OR_NULL, S_COUNT, S_TIME_OR_NULL, S_TEXT_OR_NULL, S_STATE } s_type_t;

typedef struct {
    const char *name;
    s_type_t type;
} s_member_t;

static const s_member_t s_queue[] = {
    { "id", S_ID }, { "waiting", S_COUNT }, { "oldest", S_TIME_OR_NULL },
};

static const s_member_t s_window[] = {
    { "id", S_ID }, { "number", S_ID }, { "state", S_STATE },
    { "staff", S_ID_OR_NULL }, { "service", S_ID_OR_NULL }, { "current", S_TEXT_OR_NULL },
    { "pause_reason", S_TEXT_OR_NULL }, { "waiting", S_COUNT },
    { "since", S_TIME_OR_NULL }, { "called", S_TIME_OR_NULL }, { "started", S_TIME_OR_NULL },
};

static bool s_ok(const json_t *v, s_type_t type)
{
    int64_t ms;
    if (!v)
        return false;
    switch (type) {
    case S_ID:
        return json_is_integer(v) && json_integer_value(v) > 0;
    case S_ID_OR_NULL:
        return json_is_null(v) || (json_is_integer(v) && json_integer_value(v) > 0);
    case S_COUNT:
        return json_is_integer(v) && json_integer_value(v) >= 0
               && json_integer_value(v) <= 1000000;
    case S_TIME_OR_NULL:
        return json_is_null(v)
               || (json_is_string(v) && clock_parse_rfc3339(json_string_value(v), &ms) == 0);
    case S_TEXT_OR_NULL:
        return json_is_null(v) || json_is_string(v);
    case S_STATE:
        return json_is_string(v) && (strcmp(json_string_value(v), "open") == 0
                                     || strcmp(json_string_value(v), "closed") == 0
                                     || strcmp(json_string_value(v), "paused") == 0);
    }
    return false;
}

/* Every element of state[list] an object whose members are as `members`. */
static int s_list(const json_t *state, const char *list, const s_member_t *members, size_t n,
                  char *reason, size_t size)
{
    const json_t *array = json_object_get(state, list);
    if (!json_is_array(array)) {
        snprintf(reason, size, "'%s' must be an array", list);
        return -1;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(array, i, item) {
        if (!json_is_object(item)) {
            snprintf(reason, size, "'%s[%zu]' must be an object", list, i);
            return -1;
        }
        for (size_t m = 0; m < n; m++)
            if (!s_ok(json_object_get(item, members[m].name), members[m].type)) {
                snprintf(reason, size, "'%s[%zu].%s' is missing or not of its documented "
                         "type", list, i, members[m].name);
                return -1;
            }
    }
    return 0;
}

int sn_livestate_check(const json_t *state, char *reason, size_t size)
{
    if (!json_is_object(state)) {
        snprintf(reason, size, "the reply is not an object");
        return -1;
    }
    if (s_list(state, "queues", s_queue, sizeof s_queue / sizeof s_queue[0], reason, size) != 0)
        return -1;
    return s_list(state, "windows", s_window, sizeof s_window / sizeof s_window[0], reason,
                  size);
}
