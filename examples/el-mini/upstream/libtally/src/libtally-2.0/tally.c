#include "tally.h"

static long counter;

long tally_add(long delta)
{
    counter += delta;
    return counter;
}

long tally_count(void)
{
    return counter;
}

void tally_reset(void)
{
    counter = 0;
}
