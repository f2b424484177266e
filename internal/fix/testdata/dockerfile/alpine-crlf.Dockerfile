FROM alpine:3.19
RUN addgroup -S app && adduser -S app -G app
USER app
COPY --chown=app app /app
CMD ["/app"]
