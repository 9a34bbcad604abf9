/* The README tutorial's application, built against an installed Reel. */
#include "myapp-tp.h"
int main(void) {
    for (uint64_t id = 1000; id < 1003; id++)
        reel_tracepoint(myapp, request, id, "/index.html", 200, 0.0012);
    return 0;
}
