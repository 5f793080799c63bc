#include <ctype.h>
#include <stdio.h>
#include "greet.h"

int greet_hello(char *buf, unsigned long len, const char *name)
{
    return snprintf(buf, len, "Hello, %s!", name);
}

const char *greet_version(void)
{
    return "1.2";
}

int greet_shout(char *buf, unsigned long len, const char *name)
{
    int n = greet_hello(buf, len, name);
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    return n;
}
