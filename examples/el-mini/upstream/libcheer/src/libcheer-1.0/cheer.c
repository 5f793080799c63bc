#include <stdio.h>
#include <string.h>
#include <greet.h>
#include "cheer.h"

int cheer_for(char *buf, unsigned long len, const char *name)
{
    int n = greet_hello(buf, len, name);
    if (n < 0 || (unsigned long)n >= len)
        return n;
    return n + snprintf(buf + n, len - n, " Hooray!");
}
