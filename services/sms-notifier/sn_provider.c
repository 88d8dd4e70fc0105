/*  sn_provider: the SMS gateways built in (sn_provider.h). */
#include "sn_provider.h"

#include <string.h>


static const sn_provider_t *const s_providers[] = { &sn_kannel };

const sn_provider_t *sn_provider_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof s_providers / sizeof s_providers[0]; i++)
        if (strcmp(s_providers[i]->name, name) == 0)
            return s_providers[i];
    return NULL;
}
