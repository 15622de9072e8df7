// The payloads live in the .S files; this file holds the one thing C keeps for Swift: the loop lists of
// CGuestLoops.h as a table, read by the test that checks the Swift catalogue against them.

#include "CGuest.h"
#include "CGuestLoops.h"

#define CGUEST_LOOP_ROW_GUEST(number, name, init, prep, body, next) {number, #name, CGUEST_LOOP_LIST_GUEST},
#define CGUEST_LOOP_ROW_SVM(number, name, init, prep, body, next) {number, #name, CGUEST_LOOP_LIST_SVM},

static const cguest_loop cguest_loop_table[] = {
    CGUEST_LOOPS(CGUEST_LOOP_ROW_GUEST)
    CGUEST_SVM_LOOPS(CGUEST_LOOP_ROW_SVM)
};

size_t cguest_loop_count(void) { return sizeof cguest_loop_table / sizeof cguest_loop_table[0]; }

cguest_loop cguest_loop_at(size_t index) {
    if (index >= cguest_loop_count()) return (cguest_loop){-1, "", CGUEST_LOOP_LIST_GUEST};
    return cguest_loop_table[index];
}
