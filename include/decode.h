/* decode.h - placeholder */
