#include <stdio.h>
#include <string.h>
#include "greet.h"

int main(int argc, char **argv)
{
    char buf[256];
    const char *name = argc > 1 ? argv[1] : "world";
    if (argc > 2 && strcmp(argv[2], "--shout") == 0)
        greet_shout(buf, sizeof buf, name);
    else
        greet_hello(buf, sizeof buf, name);
    puts(buf);
    return 0;
}
