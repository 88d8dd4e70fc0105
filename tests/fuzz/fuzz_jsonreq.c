/*  libFuzzer target: common/jsonreq, the strict decoder of every REST
 *  request body (and, through jsonreq_load_object, of the bus envelope).
 *
 *  Each input is decoded against a spec that uses every kind of member
 *  (strings with and without the line rule, ranges, allowed values,
 *  nullable members, arrays of numbers and of objects, a nested object),
 *  and the errors are formatted as a Problem Details detail would be. A
 *  decoded object must be an object holding only the spec's members, and
 *  a refusal must say why. Built and run by `make fuzz` (clang,
 *  -fsanitize=fuzzer,address,undefined); the seeds are in
 *  tests/fuzz/corpus/jsonreq/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eqms/jsonreq.h"

static const char *const s_kinds[] = { "branch", "region", "department", NULL };

static const jsonreq_member_t s_window_members[] = {
    { "id", JSONREQ_INTEGER, JSONREQ_REQUIRED, .min = 1, .max = INT64_MAX },
    { "name", JSONREQ_STRING, JSONREQ_LINE | JSONREQ_NULLABLE, .min = 0, .max = 16 },
};
static const jsonreq_object_t s_window = JSONREQ_OBJECT_OF(s_window_members);

static const jsonreq_member_t s_number_item = { .type = JSONREQ_INTEGER, .min = -5, .max = 5 };
static const jsonreq_member_t s_window_item = { .type = JSONREQ_OBJECT, .object = &s_window };
static const jsonreq_member_t s_kind_item = { .type = JSONREQ_STRING, .one_of = s_kinds };

static const jsonreq_member_t s_members[] = {
    { "name", JSONREQ_STRING, JSONREQ_REQUIRED | JSONREQ_LINE, .min = 1, .max = 64 },
    { "note", JSONREQ_STRING, JSONREQ_NULLABLE, .min = 0, .max = 500 },
    { "kind", JSONREQ_STRING, JSONREQ_OPTIONAL, .one_of = s_kinds },
    { "limit", JSONREQ_INTEGER, JSONREQ_OPTIONAL, .min = 1, .max = 500 },
    { "from", JSONREQ_INTEGER, JSONREQ_NULLABLE, .min = INT64_MIN, .max = 0 },
    { "score", JSONREQ_NUMBER, JSONREQ_OPTIONAL, .min = -100, .max = 100 },
    { .name = "enabled", .type = JSONREQ_BOOLEAN },
    { "numbers", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .min = 0, .max = 8, .items = &s_number_item },
    { "windows", JSONREQ_ARRAY, JSONREQ_NULLABLE, .min = 1, .max = 4, .items = &s_window_item },
    { "kinds", JSONREQ_ARRAY, JSONREQ_OPTIONAL, .items = &s_kind_item },
    { .name = "anything", .type = JSONREQ_ARRAY },
    { "window", JSONREQ_OBJECT, JSONREQ_OPTIONAL, .object = &s_window },
    { .name = "extra", .type = JSONREQ_OBJECT },
};
static const jsonreq_object_t s_spec = JSONREQ_OBJECT_OF(s_members);

static void s_check_errors(const jsonreq_errors_t *errors)
{
    if (errors->count == 0)
        abort();                        /* a refusal must say why */
    char line[512];
    jsonreq_errors_text(errors, line, sizeof line);
    char tiny[8];
    jsonreq_errors_text(errors, tiny, sizeof tiny);
    size_t kept = errors->count < JSONREQ_ERRORS_MAX ? errors->count : JSONREQ_ERRORS_MAX;
    for (size_t i = 0; i < kept; i++)
        if (!memchr(errors->errors[i].reason, '\0', sizeof errors->errors[i].reason)
            || !memchr(errors->errors[i].member, '\0', sizeof errors->errors[i].member)
            || !errors->errors[i].reason[0])
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    jsonreq_errors_t errors;
    json_t *body = jsonreq_decode(data, size, &s_spec, &errors);
    if (body) {
        if (!json_is_object(body) || !json_is_string(json_object_get(body, "name")))
            abort();
        const char *key;
        json_t *value;
        json_object_foreach(body, key, value) {
            int known = 0;
            for (size_t i = 0; i < s_spec.count; i++)
                known |= strcmp(key, s_members[i].name) == 0;
            if (!known)
                abort();                /* a member the spec does not name got through */
        }
        json_decref(body);
    }
    else
        s_check_errors(&errors);

    char reason[256];
    json_t *object = jsonreq_load_object(data, size, 4096, "body", reason, sizeof reason);
    if (object)
        json_decref(object);
    else if (!reason[0])
        abort();
    return 0;
}
