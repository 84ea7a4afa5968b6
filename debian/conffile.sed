# conffile.sed - turns the source's etc/itip-milter.conf into the package's
# /etc/itip-milter.conf (debian/rules): the socket under /run/itip-milter, group
# itip-milter (the postfix user is a member), the system user, the pidfile, and the LMDB
# store under /var/lib/itip-milter.  debian/check-conffile verifies every change.
1a\
#\
# Debian package: the settings below marked "(package)" are switched on; see\
# /usr/share/doc/itip-milter/README.Debian for Postfix's chroot and the socket.
s|^#socket = "unix:/run/itip-milter/itip-milter.sock";$|socket = "unix:/run/itip-milter/itip-milter.sock";   # (package)|
s|^#socket_mode = "0660";$|socket_mode = "0660";   # (package)|
s|^#socket_group = "postfix";$|socket_group = "itip-milter";   # (package) postfix is a member|
s|^#user = "itip-milter";$|user = "itip-milter";   # (package)|
s|^#pidfile = "/run/itip-milter/itip-milter.pid";$|pidfile = "/run/itip-milter/itip-milter.pid";   # (package)|
/^#state = {$/,/^#};$/{
  s|^#state = {$|state = {   # (package)|
  s|^#  backend = "lmdb"; |  backend = "lmdb"; |
  s|^#  path = "/var/lib/itip-milter/state";$|  path = "/var/lib/itip-milter/state";|
  s|^#};$|};|
}
