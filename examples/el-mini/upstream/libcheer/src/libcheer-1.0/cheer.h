#ifndef CHEER_H
#define CHEER_H
/* Write "Hello, NAME! Hooray!" into buf (at most len bytes); returns the length written. */
int cheer_for(char *buf, unsigned long len, const char *name);
#endif
