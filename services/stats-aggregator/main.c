/*  eqms-stats-aggregator: placeholder while the service is built (branch only). */
#include <stdio.h>

int main(void)
{
    fprintf(stderr, "eqms-stats-aggregator: not built yet\n");
    return 1;
}
