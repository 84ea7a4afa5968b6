/* charset.h - placeholder */
