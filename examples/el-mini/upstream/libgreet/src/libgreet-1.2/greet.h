#ifndef GREET_H
#define GREET_H
/* Write "Hello, NAME!" into buf (at most len bytes); returns the length written. */
int greet_hello(char *buf, unsigned long len, const char *name);
/* Library version string. */
const char *greet_version(void);
/* Like greet_hello, in capitals (since GREET_1.1). */
int greet_shout(char *buf, unsigned long len, const char *name);
#endif
