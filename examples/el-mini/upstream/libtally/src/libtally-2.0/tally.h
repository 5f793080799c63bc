#ifndef TALLY_H
#define TALLY_H
/* Add delta to the counter; returns the new value. */
long tally_add(long delta);
/* Current value of the counter. */
long tally_count(void);
/* Set the counter back to zero. */
void tally_reset(void);
#endif
