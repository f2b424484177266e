FROM centos:7
RUN yum install -y httpd && yum clean all
EXPOSE 80
CMD ["httpd", "-DFOREGROUND"]
