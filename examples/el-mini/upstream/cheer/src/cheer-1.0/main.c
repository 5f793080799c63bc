#include <stdio.h>
#include <greet.h>
#include <cheer.h>

int main(int argc, char **argv)
{
    char buf[256];
    const char *name = argc > 1 ? argv[1] : "world";
    greet_shout(buf, sizeof buf, name);
    puts(buf);
    cheer_for(buf, sizeof buf, name);
    puts(buf);
    return 0;
}
