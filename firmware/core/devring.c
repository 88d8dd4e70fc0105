/*  devring: fixed ring of stored device events awaiting acknowledgement (devring.h). */
#include "devring.h"

#include <string.h>

void devring_init(devring_t *self)
{
    memset(self, 0, sizeof *self);
    self->first_seq = 1;
}

uint32_t devring_push(devring_t *self, const devring_entry_t *entry)
{
    if (self->count >= DEVCORE_RING_CAPACITY)
        return 0;
    uint16_t idx = (uint16_t) ((self->head + self->count) % DEVCORE_RING_CAPACITY);
    self->entries[idx] = *entry;
    self->count++;
    return self->first_seq + self->count - 1;
}

const devring_entry_t *devring_get(const devring_t *self, uint32_t seq)
{
    uint32_t off = seq - self->first_seq;       /* wraps: old seqs are huge */
    if (off >= self->count)
        return NULL;
    return &self->entries[(self->head + off) % DEVCORE_RING_CAPACITY];
}

int devring_ack(devring_t *self, uint32_t upto)
{
    /* how many of the stored events upto covers: off in 0..count */
    uint32_t off = upto - self->first_seq + 1;
    if ((int32_t) off <= 0)
        return 0;                               /* an old ack */
    if (off > self->count)
        return -1;                              /* beyond the newest event */
    self->head = (uint16_t) ((self->head + off) % DEVCORE_RING_CAPACITY);
    self->count = (uint16_t) (self->count - off);
    self->first_seq += off;
    return (int) off;
}

uint16_t devring_used(const devring_t *self)
{
    return self->count;
}

uint32_t devring_first_seq(const devring_t *self)
{
    return self->first_seq;
}

uint32_t devring_next_seq(const devring_t *self)
{
    return self->first_seq + self->count;
}
