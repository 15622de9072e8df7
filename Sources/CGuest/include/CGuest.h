// CGuest: the tiny guests' machine code, assembled from the .S files beside this header, exposed to
// Swift as byte ranges. No logic.
#ifndef CGUEST_H
#define CGUEST_H
#endif
