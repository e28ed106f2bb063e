"""Where an actor's host call goes: an actor on this board, a builtin provider, or the gateway."""

from edgehost.builtins import BuiltinError


class HostCallError(Exception):
    """A host call could not be served; the message is the host error the guest reads."""


class Dispatcher:
    """Routes host calls, local first.

    A namespace that is the public key or call alias of an actor on the board is a call to
    that actor; the builtin namespaces go to `builtins` (which check the caller's claims);
    anything else goes to `gateway(actor, binding, namespace, operation, payload)`, which
    returns the answer or raises with the reason. A namespace with a colon is a capability
    contract (`wasmcloud:keyvalue`): the caller's claims must hold it before anything leaves
    the board. Other namespaces are actor keys or call aliases the gateway resolves.
    """

    def __init__(self, table, builtins, gateway):
        self.table = table
        self.builtins = builtins
        self.gateway = gateway

    def host_call(self, actor_key, binding, namespace, operation, payload):
        target = self.table.find(namespace)
        if target is not None:
            # errors of the called actor (GuestError, TrapError...) reach the caller as its
            # host error, each naming the actor and what went wrong
            return target.host.call(operation, payload)
        caps = self.table.caps_of(actor_key)
        if self.builtins.serves(namespace):
            try:
                return self.builtins.call(actor_key, caps, namespace, operation, payload)
            except BuiltinError as exc:
                raise HostCallError(str(exc))
        if ":" in namespace and namespace not in caps:
            raise HostCallError("actor %s is not allowed to call %s: its claims lack that "
                                "capability" % (actor_key, namespace))
        return self.gateway(actor_key, binding, namespace, operation, payload)
