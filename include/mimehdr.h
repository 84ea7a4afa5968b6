/* mimehdr.h - placeholder */
